import { api, boot, clear, fill, h, t } from "./dom.js";
import { errorText } from "./i18n.js";
import { call } from "./rpc.js";

// Labels: coloured chips on conversations (picker in the conversation header), a label
// filter and per-view counts in the inbox. Colours are validated `#rrggbb` on the server.
const isLead = boot.user.roles.some((r) => r === "admin" || r === "supervisor");
const cache = new Map(); // site id -> Promise of that site's labels

export function siteLabels(siteId, fresh = false) {
  if (fresh || !cache.has(siteId)) {
    const p = api("GET", `/api/v1/labels?site=${encodeURIComponent(siteId)}`).catch(() => []);
    cache.set(siteId, p);
  }
  return cache.get(siteId);
}

export function chip(label, onRemove) {
  return h(
    "span",
    { class: "rd-chip", style: `--c:${label.color}`, dataset: { labelId: String(label.id) } },
    label.name,
    onRemove ? h("button", { type: "button", class: "rd-chip-x", "aria-label": `× ${label.name}`, onclick: onRemove }, "×") : null,
  );
}

export function chips(labels) {
  return labels?.length ? h("div", { class: "rd-chips" }, labels.map((l) => chip(l))) : null;
}


// The chips and picker under a conversation's header.
export class Labels {
  constructor(conv) {
    this.conv = conv;
    this.current = [];
    this.bar = h("div", { class: "rd-labels-bar", "aria-label": t("console.labels.title") });
    this.picker = h("div", { class: "rd-picker", hidden: true, role: "dialog", "aria-label": t("console.labels.title") });
    conv.header.after(this.bar);
    this.picker.addEventListener("keydown", (e) => {
      if (e.key === "Escape") {
        this.picker.hidden = true;
        this.bar.querySelector(".rd-label-add")?.focus();
      }
    });
    conv.socket.on("conversation:labels", (d) => d.conversation_id === conv.id && this.show(d.labels));
    conv.socket.on("label:created", ({ label }) => cache.delete(label.site_id));
    conv.socket.on("label:deleted", ({ label_id, site_id }) => {
      cache.delete(site_id);
      if (this.current.some((l) => l.id === label_id)) this.show(this.current.filter((l) => l.id !== label_id));
    });
    document.addEventListener("click", (e) => {
      if (!this.picker.hidden && !this.bar.contains(e.target)) this.picker.hidden = true;
    });
  }

  reset() {
    this.current = [];
    this.picker.hidden = true;
    clear(this.bar);
  }

  show(labels) {
    this.current = labels;
    const add = h("button", { type: "button", class: "rd-btn small rd-label-add", "aria-expanded": "false", onclick: () => this.openPicker() }, t("console.labels.add"));
    fill(this.bar, labels.map((l) => chip(l, () => this.save(this.current.filter((x) => x.id !== l.id).map((x) => x.id)))), add, this.picker);
    this.picker.hidden = true;
  }

  async openPicker() {
    const siteId = this.conv.conv?.site_id;
    if (siteId === null || siteId === undefined) return;
    const all = await siteLabels(siteId);
    const on = new Set(this.current.map((l) => l.id));
    fill(
      this.picker,
      h("div", { class: "rd-picker-title" }, t("console.labels.title")),
      all.length ? null : h("p", { class: "muted" }, t("console.labels.none")),
      all.map((l) =>
        h(
          "label",
          { class: "rd-picker-row" },
          h("input", { type: "checkbox", checked: on.has(l.id), dataset: { labelId: String(l.id) }, onchange: (e) => {
            if (e.target.checked) on.add(l.id);
            else on.delete(l.id);
            this.save([...on]);
          } }),
          chip(l),
        ),
      ),
      isLead ? this.creator(siteId) : null,
    );
    this.picker.hidden = false;
  }

  creator(siteId) {
    const name = h("input", { class: "rd-input", maxlength: "40", placeholder: t("console.labels.new"), "aria-label": t("console.labels.new") });
    const color = h("input", { type: "color", value: "#3b5bdb", "aria-label": "color" });
    const create = async () => {
      if (!name.value.trim()) return;
      try {
        const label = await api("POST", "/api/v1/labels", { site_id: siteId, name: name.value, color: color.value });
        await siteLabels(siteId, true);
        await this.save([...this.current.map((l) => l.id), label.id]);
        this.openPicker();
      } catch (err) {
        this.conv.flash(errorText(err));
      }
    };
    name.addEventListener("keydown", (e) => e.key === "Enter" && (e.preventDefault(), create()));
    return h("div", { class: "rd-picker-new" }, name, color, h("button", { type: "button", class: "rd-btn small", onclick: create }, t("console.labels.create")));
  }

  async save(ids) {
    const ack = await call(this.conv.socket, "conversation:labels", { conversation_id: this.conv.id, label_ids: ids });
    if (!ack.ok) return this.conv.flash(errorText(ack.error));
    const open = !this.picker.hidden;
    this.show(ack.labels);
    this.conv.onLabels?.(this.conv.id, ack.labels);
    if (open) this.openPicker();
  }
}

// The inbox side: a label filter, counts per view, live label changes on rows.
export class InboxLabels {
  constructor(inbox) {
    this.inbox = inbox;
    this.label = localStorage.getItem("rd.label") || "";
    this.counts = {};
    this.select = h("select", { class: "rd-site rd-label-filter", "aria-label": t("console.labels.filter"), onchange: (e) => {
      this.label = e.target.value;
      localStorage.setItem("rd.label", this.label);
      inbox.load(true);
    } });
    this.fillSelect();
    inbox.socket.on("conversation:labels", (d) => this.onLabels(d.conversation_id, d.labels));
    inbox.socket.on("label:created", () => this.fillSelect());
    inbox.socket.on("label:deleted", ({ label_id }) => {
      for (const row of inbox.rows.values()) row.labels = (row.labels || []).filter((l) => l.id !== label_id);
      if (this.label === String(label_id)) {
        this.label = "";
        inbox.load(true);
      }
      this.fillSelect();
      inbox.renderList();
    });
  }

  async fillSelect() {
    if (!boot.can_inbox) return;
    let labels = [];
    try {
      labels = await api("GET", "/api/v1/labels");
    } catch {
        // Best effort: the list works without it.
      }
    const many = boot.sites.length > 1;
    const siteName = (id) => boot.sites.find((s) => s.id === id)?.name || "";
    if (this.label && !labels.some((l) => String(l.id) === this.label)) this.label = "";
    fill(
      this.select,
      h("option", { value: "" }, t("console.labels.all")),
      labels.map((l) => h("option", { value: String(l.id), selected: String(l.id) === this.label }, many ? `${l.name} · ${siteName(l.site_id)}` : l.name)),
    );
    this.select.hidden = !labels.length && !this.label;
  }

  params(q) {
    if (this.label) q.set("label", this.label);
  }

  matches(row) {
    return !this.label || (row.labels || []).some((l) => String(l.id) === this.label);
  }

  async onLabels(id, labels) {
    const inbox = this.inbox;
    const row = inbox.rows.get(id);
    if (row) {
      row.labels = labels;
      if (!this.matches(row)) {
        inbox.rows.delete(id);
        inbox.order = inbox.order.filter((x) => x !== id);
      }
      inbox.renderList();
    } else if (this.label && labels.some((l) => String(l.id) === this.label)) {
      // Newly matching the filter: fetch the row as the inbox would for a new conversation.
      try {
        const fresh = await api("GET", `/api/v1/conversations/${encodeURIComponent(id)}`);
        if (!inbox.rows.has(id) && inbox.matches(fresh)) {
          inbox.rows.set(id, fresh);
          inbox.order.unshift(id);
          inbox.renderList();
        }
      } catch {
        // Best effort: the list works without it.
      }
    }
    this.refreshCounts();
  }

  // Counts are refetched (debounced) on every change rather than computed in the browser:
  // the server applies the same visibility rules as the lists.
  refreshCounts() {
    clearTimeout(this.timer);
    this.timer = setTimeout(async () => {
      const q = new URLSearchParams();
      if (this.inbox.site) q.set("site", this.inbox.site);
      this.params(q);
      try {
        this.counts = await api("GET", `/api/v1/conversations/counts?${q}`);
      } catch {
        return;
      }
      this.inbox.renderTabs();
    }, 250);
  }

  count(view) {
    const n = this.counts[view];
    return n === null || n === undefined ? null : h("span", { class: "rd-count", dataset: { view } }, String(n));
  }
}
