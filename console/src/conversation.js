import { fill, api, boot, clear, h, safeUrl, t, when } from "./dom.js";
import { Labels } from "./labels.js";
import { earlierList, pageLink } from "./details.js";
import { Notes } from "./notes.js";
import { CannedPicker } from "./canned.js";
import { transferButton } from "./transfer.js";
import { Attachments, renderAttachments } from "./attachments.js";
import { colon, errorText, languageName, quote, reasonLabel, senderLabel } from "./i18n.js";
import { call } from "./rpc.js";
import { plainText, renderMarkdown } from "./markdown.js";
import { Outbox, newClientId, syncFrom } from "../../jslib/delivery.js";

export class Conversation {
  constructor(socket, onUpdated) {
    this.socket = socket;
    this.onUpdated = onUpdated;
    this.id = null;
    this.header = h("header", { class: "rd-conv-head" });
    this.summary = h("div", { class: "rd-summary", hidden: true });
    this.log = h("div", { class: "rd-log", role: "log", "aria-live": "polite" });
    this.typingLine = h("div", { class: "rd-typing", "aria-live": "polite" });
    this.input = h("textarea", {
      rows: "2",
      placeholder: t("console.conv.reply"),
      "aria-label": t("console.conv.reply"),
      onkeydown: (e) => this.onKeyDown(e),
      oninput: () => this.onTyping(),
      onblur: () => this.stopTyping(),
    });
    this.canned = new CannedPicker(this.input, () => this.conv?.site_id ?? this.row?.site_id);
    this.sendButton = h("button", { class: "rd-btn primary", onclick: () => this.sendFromBox() }, t("console.conv.send"));
    this.details = h("div", { class: "rd-details" });
    this.assist = h("div", { class: "rd-assist" });
    this.root = h(
      "div",
      { class: "rd-conv" },
      h("div", { class: "rd-conv-main" }, this.header, this.summary, this.log, this.typingLine,
        h("div", { class: "rd-compose" }, this.input, this.sendButton)),
      h("aside", { class: "rd-side" }, this.details, this.assist),
    );
    // Replies not yet acknowledged, by client_id: sent one at a time in the agent's order,
    // retried with the same client_id (jslib/delivery.js, the widget's policy too).
    this.outbox = new Outbox({
      send: (p) => this.sendOnce(p),
      ready: () => socket.connected,
      onAck: (p, ack) => this.onSendAck(p, ack),
      onFail: (p) => this.onSendFailed(p),
    });
    this.notes = new Notes(this);
    this.labels = new Labels(this);
    this.attachments = new Attachments(this);
    socket.on("message:new", ({ message }) => message.conversation_id === this.id && this.addMessage(message));
    socket.on("message:stream", (d) => d.conversation_id === this.id && this.onStream(d));
    socket.on("typing", (d) => d.conversation_id === this.id && this.onRemoteTyping(d));
    socket.on("read", (d) => {
      if (d.conversation_id === this.id && d.reader.kind === "visitor") {
        this.visitorRead = Math.max(this.visitorRead, d.seq);
        this.renderTicks();
      }
    });
    socket.on("conversation:updated", ({ conversation }) => {
      if (conversation.id === this.id) {
        const back = conversation.status === "bot" && this.conv?.status !== "bot";
        // A status change ends whoever's turn it was: drop a stale "typing…" line.
        if (this.conv && this.conv.status !== conversation.status) this.clearTyping();
        this.conv = { ...this.conv, ...conversation };
        this.renderHeader();
        // Back with the bot, the handoff summary is history: the server now leaves it out.
        if (back) this.loadSummary(this.id);
      }
    });
    // `Relaydesk.identify` on the visitor's page: show the new name and email at once.
    socket.on("visitor:updated", (d) => d.conversation_id === this.id && this.loadDetails(this.id));
    socket.on("handoff:summary", ({ summary }) => summary?.conversation_id === this.id && this.renderSummary(summary, []));
    document.addEventListener("visibilitychange", () => this.markRead());
  }

  reset() {
    this.messages = new Map();
    // Failed replies of the conversation left behind are dropped with its view.
    for (const p of [...this.outbox.values()]) if (p.status === "failed") this.outbox.drop(p.cid);
    this.streams = new Map();
    this.visitorRead = 0;
    this.conv = null;
    this.row = null;
    this.lastTyping = 0;
    clear(this.log);
    clear(this.header);
    clear(this.details);
    clear(this.assist);
    this.summary.hidden = true;
    this.typingLine.textContent = "";
    this.notes.reset();
    this.labels.reset();
    this.attachments?.reset();
  }

  async open(id) {
    if (this.id && this.id !== id) this.socket.emit("conversation:leave", { conversation_id: this.id });
    this.id = id;
    this.reset();
    this.input.value = "";
    await this.join();
  }

  close() {
    if (this.id) this.socket.emit("conversation:leave", { conversation_id: this.id });
    this.id = null;
  }

  async join() {
    const id = this.id;
    const ack = await call(this.socket, "conversation:join", { conversation_id: id });
    if (id !== this.id) return;
    if (!ack.ok) {
      fill(this.log, h("p", { class: "rd-error" }, `${t("console.error")}${colon()}${errorText(ack.error)}`));
      return;
    }
    this.conv = ack.conversation;
    ack.messages.forEach((m) => this.addMessage(m));
    this.notes.load(ack.notes || []);
    this.labels.show(ack.labels || []);
    this.renderHeader();
    this.markRead();
    this.loadDetails(id);
    await this.loadSummary(id);
    this.renderAssistButton();
    this.outbox.flush();
  }

  async resync() {
    if (!this.id) return;
    const id = this.id;
    const joined = await call(this.socket, "conversation:join", { conversation_id: id });
    if (joined.ok && id === this.id) {
      this.notes.load(joined.notes || []);
      this.labels.show(joined.labels || []);
    }
    const after = Math.max(0, ...this.messages.keys());
    await syncFrom((event, body) => call(this.socket, event, body), id, after, (m) => id === this.id && this.addMessage(m));
    this.outbox.flush();
    this.notes.outbox.flush();
  }

  async loadDetails(id) {
    try {
      this.row = await api("GET", `/api/v1/conversations/${encodeURIComponent(id)}`);
    } catch {
      return;
    }
    if (id !== this.id) return;
    this.visitorRead = Math.max(this.visitorRead, this.row.visitor_read_seq || 0);
    this.renderTicks();
    this.renderHeader();
    const v = this.row.visitor;
    const site = boot.sites.find((s) => s.id === this.row.site_id);
    const dl = h("dl", {});
    const add = (k, val) => val && dl.append(h("dt", {}, k), h("dd", {}, val));
    add(t("console.inbox.visitor"), v.name || v.id.slice(0, 8));
    add(t("console.conv.email"), v.email);
    add(t("console.conv.locale"), languageName(v.locale));
    add(t("console.conv.site"), site?.name);
    add(t("console.conv.started"), when(this.row.created_at));
    add(t("console.conv.reason"), reasonLabel(this.row.handoff_reason));
    add(t("console.details.page"), pageLink(v));
    // Admins handle visitors' data requests (export, erasure) on the privacy page.
    if (boot.user.roles.includes("admin")) {
      const href = `/console/admin/privacy?visitor=${encodeURIComponent(v.id)}`;
      add(t("console.details.privacy"), h("a", { class: "rd-privacy-link", href }, t("console.details.privacy_open")));
    }
    fill(this.details, h("h3", {}, t("console.conv.details")), dl, earlierList(this.row.earlier));
  }

  renderHeader() {
    const c = this.conv;
    if (!c) return;
    const mine = c.assignee_id === boot.user.id;
    const name = this.row?.visitor?.name || `${t("console.inbox.visitor")} ${c.visitor_id.slice(0, 6)}`;
    const act = (key, event) =>
      h("button", { class: `rd-btn${key === "accept" ? " primary" : ""}`, dataset: { action: key }, onclick: (e) => this.action(event, e.currentTarget) }, t(`console.conv.${key}`));
    fill(this.header, 
      h("div", { class: "rd-conv-title" }, h("strong", {}, name), h("span", { class: `rd-status s-${c.status}` }, t(`console.status.${c.status}`)),
        c.assignee ? h("span", { class: "muted" }, `· ${c.assignee.name}`) : null),
      h("div", { class: "rd-actions" },
        c.status === "bot" || c.status === "queued" ? act("accept", "conversation:accept") : null,
        c.status === "assigned" ? act("resolve", "conversation:resolve") : null,
        c.status === "resolved" ? act("reopen", "conversation:reopen") : null,
        c.status === "assigned" && (mine || boot.user.roles.includes("admin") || boot.user.roles.includes("supervisor")) ? act("hand_back", "conversation:hand_back") : null,
        transferButton(this, this.socket, (conv) => {
          this.conv = conv;
          this.renderHeader();
          this.onUpdated(conv);
        }),
      ),
    );
  }

  async action(event, button) {
    button.disabled = true;
    const ack = await call(this.socket, event, { conversation_id: this.id });
    button.disabled = false;
    if (!ack.ok) {
      this.flash(errorText(ack.error));
      return;
    }
    const back = ack.conversation.status === "bot" && this.conv?.status !== "bot";
    this.conv = ack.conversation;
    this.renderHeader();
    this.onUpdated(ack.conversation);
    if (back) this.loadSummary(this.id);
    if (event === "conversation:accept") this.focusReply();
  }

  flash(text) {
    const el = h("div", { class: "rd-flash", role: "alert" }, text);
    this.root.append(el);
    setTimeout(() => el.remove(), 4000);
  }

  async loadSummary(id) {
    const s = await call(this.socket, "handoff:summary", { conversation_id: id });
    if (!s.ok || id !== this.id) return;
    if (s.summary || s.offline_messages?.length) this.renderSummary(s.summary, s.offline_messages || []);
    else this.summary.hidden = true;
  }

  renderSummary(s, offline) {
    fill(this.summary, h("div", { class: "rd-summary-title" }, t("console.conv.summary")));
    if (s) this.summary.append(...summaryLines(s));
    if (offline.length) {
      this.summary.append(h("div", { class: "rd-summary-title" }, t("console.conv.offline")));
      offline.forEach((o) => this.summary.append(h("p", {}, `${o.email}: ${o.message}`)));
    }
    this.summary.hidden = false;
  }

  renderAssistButton() {
    fill(this.assist, 
      h("h3", {}, t("console.conv.assist")),
      h("button", { class: "rd-btn", onclick: () => this.loadAssist() }, t("console.conv.assist_load")),
    );
  }

  async loadAssist() {
    const ack = await call(this.socket, "assist:suggest", { conversation_id: this.id }, 15000);
    this.renderAssistButton();
    if (!ack.ok) return this.assist.append(h("p", { class: "rd-error" }, errorText(ack.error)));
    const items = [];
    if (ack.draft) items.push({ title: t("console.conv.draft"), text: ack.draft });
    items.push(...(ack.suggestions || []));
    if (!items.length) this.assist.append(h("p", { class: "muted" }, t("console.conv.no_suggestions")));
    for (const s of items) {
      this.assist.append(
        h("div", { class: "rd-suggestion" },
          h("div", { class: "rd-suggestion-title" }, s.title, typeof s.confidence === "number" ? h("span", { class: "muted" }, ` ${Math.round(s.confidence * 100)}%`) : null),
          h("div", { class: "rd-suggestion-text" }, s.text),
          h("button", { class: "rd-btn small", onclick: () => this.insert(s.text) }, t("console.conv.insert"))),
      );
    }
  }

  insert(text) {
    const el = this.input;
    const start = el.selectionStart ?? el.value.length;
    el.value = el.value.slice(0, start) + text + el.value.slice(el.selectionEnd ?? start);
    el.focus();
    el.selectionStart = el.selectionEnd = start + text.length;
  }

  focusReply() {
    this.input.focus();
  }

  bubble(m) {
    const kind = m.sender.kind;
    const el = h("div", { class: `rd-msg k-${kind}`, dataset: { seq: m.seq, clientId: m.client_id } },
      h("div", { class: "rd-msg-who" }, senderLabel(m.sender), " · ", when(m.created_at)),
      // Bot answers and agent replies are Markdown; the visitor's words are shown as typed.
      kind === "bot" || kind === "agent" ? renderMarkdown(m.text) : h("div", { class: "rd-msg-text" }, m.text));
    el.querySelector(".md")?.classList.add("rd-msg-text");
    const cites = m.payload?.citations || [];
    if (cites.length) {
      el.append(h("div", { class: "rd-cites" }, `${t("console.conv.sources")}${colon()}`,
        cites.map((c) => {
          const url = safeUrl(c.url);
          const label = `[${c.n}] ${c.title}`;
          return url ? h("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, label) : h("span", {}, label);
        })));
    }
    const related = m.payload?.related || [];
    if (related.length) {
      el.append(h("div", { class: "rd-cites" }, `${t("console.conv.related")}${colon()}`,
        related.map((r) => {
          const url = safeUrl(r.url);
          return url ? h("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, r.title) : h("span", {}, r.title);
        })));
    }
    renderAttachments(m, el);
    if (kind === "agent") el.append(h("div", { class: "rd-tick" }));
    return el;
  }

  addMessage(m) {
    if (this.messages.has(m.seq)) return;
    this.messages.set(m.seq, m);
    const stream = this.streams.get(m.client_id);
    if (stream) {
      stream.el.remove();
      this.streams.delete(m.client_id);
    }
    const pend = this.outbox.confirm(m.client_id);
    if (pend) pend.el.remove();
    const el = this.bubble(m);
    const after = [...this.log.querySelectorAll(".rd-msg[data-seq]")].find((x) => +x.dataset.seq > m.seq);
    const firstPending = this.log.querySelector(".rd-msg.pending, .rd-msg.streaming");
    this.log.insertBefore(el, after || firstPending || null);
    this.renderTicks();
    this.log.scrollTop = this.log.scrollHeight;
    this.markRead();
  }

  onStream({ stream_id, index, delta }) {
    let s = this.streams.get(stream_id);
    if (!s) {
      if ([...this.messages.values()].some((m) => m.client_id === stream_id)) return;
      const text = h("div", { class: "rd-msg-text" });
      s = { parts: [], text, el: h("div", { class: "rd-msg k-bot streaming" }, h("div", { class: "rd-msg-who" }, t("console.sender.bot")), text) };
      this.streams.set(stream_id, s);
      this.log.append(s.el);
    }
    s.parts[index] = delta;
    // Deltas may arrive out of order: show the contiguous prefix only.
    let text = "";
    for (let i = 0; s.parts[i] !== undefined; i++) text += s.parts[i];
    s.text.replaceChildren(...renderMarkdown(text).childNodes);
    this.log.scrollTop = this.log.scrollHeight;
  }

  onRemoteTyping(d) {
    if (d.sender.kind === "agent" && d.sender.id === String(boot.user.id)) return;
    clearTimeout(this.typingTimer);
    const who = senderLabel(d.sender);
    this.typingLine.textContent = d.typing ? `${who} ${t("console.conv.typing")}` : "";
    if (d.typing) this.typingTimer = setTimeout(() => this.clearTyping(), 8000);
  }

  clearTyping() {
    clearTimeout(this.typingTimer);
    this.typingLine.textContent = "";
  }

  renderTicks() {
    for (const el of this.log.querySelectorAll(".rd-msg.k-agent[data-seq] .rd-tick")) {
      const seq = +el.parentElement.dataset.seq;
      const read = seq <= this.visitorRead;
      el.textContent = read ? `✓✓ ${t("console.conv.read")}` : `✓ ${t("console.conv.sent")}`;
      el.classList.toggle("read", read);
    }
  }

  markRead() {
    if (!this.id || document.hidden || !this.messages?.size) return;
    const seq = Math.max(...this.messages.keys());
    if (seq > (this.readSent || 0) || this.readFor !== this.id) {
      this.readSent = seq;
      this.readFor = this.id;
      this.socket.emit("read", { conversation_id: this.id, seq });
    }
  }

  onKeyDown(e) {
    if (this.canned.onKeyDown(e)) return;
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      this.sendFromBox();
    }
  }

  onTyping() {
    if (this.notes.on) return; // writing a note is nothing the visitor should hear of
    const now = Date.now();
    if (this.id && now - this.lastTyping > 3000) {
      this.lastTyping = now;
      this.socket.emit("typing", { conversation_id: this.id, typing: true });
    }
  }

  stopTyping() {
    if (this.id && this.lastTyping) {
      this.lastTyping = 0;
      this.socket.emit("typing", { conversation_id: this.id, typing: false });
    }
  }

  sendFromBox() {
    if (this.notes.on) return this.notes.sendFromBox();
    const text = this.input.value.trim();
    if (!this.id) return;
    const files = this.attachments.take();
    if (files === null || (!text && !files.length)) return;
    this.input.value = "";
    this.stopTyping();
    const id = newClientId("c");
    const el = h("div", { class: "rd-msg k-agent pending", dataset: { clientId: id } },
      h("div", { class: "rd-msg-who" }, boot.user.name),
      h("div", { class: "rd-msg-text" }, text),
      h("div", { class: "rd-tick" }, `… ${t("console.conv.sending")}`));
    this.log.append(el);
    this.log.scrollTop = this.log.scrollHeight;
    this.outbox.add({ cid: id, text, el, conversation: this.id, files });
  }

  sendOnce(p) {
    const body = { conversation_id: p.conversation, client_id: p.cid, text: p.text };
    if (p.files?.length) body.attachment_ids = p.files;
    return call(this.socket, "message:send", body);
  }

  onSendAck(p, ack) {
    if (p.conversation === this.id) this.addMessage(ack.message);
    else this.outbox.confirm(p.cid);
    this.onSent?.(ack.message);
    if (ack.message && this.conv && !this.conv.assignee_id && p.conversation === this.id) this.conv.assignee_id = boot.user.id;
  }

  onSendFailed(p) {
    const tick = p.el.querySelector(".rd-tick");
    fill(tick, `⚠ ${t("console.conv.failed")} (${errorText(p.error)}) `,
      h("button", { class: "rd-link", onclick: () => {
        tick.textContent = `… ${t("console.conv.sending")}`;
        p.el.classList.remove("failed");
        this.outbox.retry(p.cid);
      } }, t("console.conv.retry")));
    p.el.classList.add("failed");
  }
}

// An extractive summary is data (the visitor's and the bot's words as written, source
// titles, the reason code): render it in the reader's language. An LLM summary is prose
// written in the site's language; the reason under it is still the reader's.
function summaryLines(s) {
  const d = s.details || {};
  const zh = boot.locale === "zh";
  const paren = (x) => (zh ? `（${x}）` : `(${x})`);
  const line = (key, ...content) => h("p", {}, h("strong", {}, t(key) + colon()), ...content);
  const reason = line("console.summary.reason", reasonLabel(s.reason || d.reason));
  if (d.generated_by === "llm" || !Array.isArray(d.questions) || !Array.isArray(d.answers)) {
    return [h("p", { class: "rd-summary-text" }, s.text), reason, h("p", { class: "muted" }, t("console.summary.by_llm"))];
  }
  const out = [];
  if (d.questions.length) out.push(line("console.summary.asked", d.questions.map(quote).join(" / ")));
  const answered = d.answers.filter((a) => a.action === "answer");
  for (const a of answered) {
    const sources = (a.sources || []).filter(Boolean);
    out.push(line("console.summary.answered", quote(plainText(a.text)), " ",
      h("span", { class: "muted" }, paren(`${t("console.summary.sources")}${colon()}${sources.length ? sources.join(zh ? "、" : ", ") : t("console.summary.no_sources")}`))));
  }
  if (!answered.length) out.push(h("p", {}, t("console.summary.no_answer")));
  out.push(reason);
  return out;
}
