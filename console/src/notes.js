import { boot, h, t, when } from "./dom.js";
import { errorText } from "./i18n.js";
import { call } from "./rpc.js";
import { Outbox, newClientId } from "../../jslib/delivery.js";

// Private notes: staff-only, shown among the messages by time, never sent to the visitor.
// They travel on their own event (`note:add` / `note:new`), so they take no message seq.
export class Notes {
  constructor(conv) {
    this.conv = conv;
    this.on = false;
    this.shown = new Map();
    // Same delivery policy as messages (jslib/delivery.js): a resend keeps the client_id.
    this.outbox = new Outbox({
      send: (p) => call(conv.socket, "note:add", p.note),
      ready: () => conv.socket.connected,
      onAck: (p, ack) => p.note.conversation_id === this.conv.id && this.add(ack.note),
      onFail: (p) => {
        p.el.classList.add("failed");
        p.el.append(h("div", { class: "rd-tick" }, `⚠ ${t("console.conv.failed")} (${errorText(p.error)})`));
      },
    });
    this.toggle = h(
      "button",
      { type: "button", class: "rd-note-toggle", "aria-pressed": "false", title: t("console.note.hint"), onclick: () => this.set(!this.on) },
      h("span", { class: "rd-note-icon", "aria-hidden": "true" }),
      t("console.note.toggle"),
    );
    conv.input.before(this.toggle);
    conv.socket.on("note:new", ({ note }) => note.conversation_id === conv.id && this.add(note));
  }

  set(on) {
    this.on = on;
    const { input, sendButton } = this.conv;
    this.toggle.setAttribute("aria-pressed", String(on));
    input.parentElement.classList.toggle("noting", on);
    input.placeholder = t(on ? "console.note.reply" : "console.conv.reply");
    input.setAttribute("aria-label", input.placeholder);
    sendButton.textContent = t(on ? "console.note.save" : "console.conv.send");
    if (on) this.conv.stopTyping();
    input.focus();
  }

  reset() {
    this.shown.clear();
    if (this.on) this.set(false);
  }

  load(notes) {
    notes.forEach((n) => this.add(n));
  }

  element(note, pending) {
    const who = note.author?.name || boot.user.name;
    return h(
      "div",
      { class: `rd-msg rd-note${pending ? " pending" : ""}`, dataset: { noteId: note.id || "", clientId: note.client_id, at: String(Date.parse(note.created_at) || Date.now()) } },
      h("div", { class: "rd-msg-who" }, h("span", { class: "rd-note-icon", "aria-hidden": "true" }), `${t("console.note.title")} · ${who}`, note.created_at ? ` · ${when(note.created_at)}` : ""),
      h("div", { class: "rd-msg-text" }, note.text),
    );
  }

  // Before the first message or note that is newer, so notes sit where they were written.
  place(el, at) {
    const log = this.conv.log;
    const later = [...log.querySelectorAll(".rd-msg[data-seq], .rd-note[data-note-id]:not(.pending)")].find((x) => {
      if (x.dataset.seq) {
        const m = this.conv.messages.get(+x.dataset.seq);
        return m && Date.parse(m.created_at) > at;
      }
      return +x.dataset.at > at;
    });
    log.insertBefore(el, later || log.querySelector(".rd-msg.pending, .rd-msg.streaming") || null);
  }

  add(note) {
    const old = this.shown.get(note.client_id);
    if (old && !old.classList.contains("pending")) return;
    old?.remove();
    const el = this.element(note, false);
    this.shown.set(note.client_id, el);
    this.place(el, Date.parse(note.created_at));
    this.conv.log.scrollTop = this.conv.log.scrollHeight;
  }

  sendFromBox() {
    const text = this.conv.input.value.trim();
    if (!text || !this.conv.id) return;
    this.conv.input.value = "";
    const note = { client_id: newClientId("n"), text, conversation_id: this.conv.id };
    const el = this.element(note, true);
    this.shown.set(note.client_id, el);
    this.conv.log.append(el);
    this.conv.log.scrollTop = this.conv.log.scrollHeight;
    this.outbox.add({ cid: note.client_id, note, el });
  }
}
