import { fill, ago, api, boot, clear, h, t } from "./dom.js";
import { Conversation } from "./conversation.js";
import { plainText } from "./markdown.js";
import { presenceMark } from "./presence.js";
import { InboxLabels, chips } from "./labels.js";
import { InboxFilters } from "./filters.js";
import { InboxDrill } from "./drill.js";

const VIEWS = ["queue", "mine", "team", "all", "resolved"];
const isStaffLead = boot.user.roles.some((r) => r === "admin" || r === "supervisor");

function matches(view, c) {
  if (view === "queue") return c.status === "bot" || c.status === "queued";
  if (view === "mine") return c.status === "assigned" && c.assignee_id === boot.user.id;
  if (view === "team") return c.status !== "resolved" && (boot.user.team_ids || []).includes(c.team_id);
  if (view === "all") return c.status !== "resolved";
  return c.status === "resolved";
}

export class Inbox {
  constructor(socket) {
    this.socket = socket;
    this.view = "queue";
    this.site = localStorage.getItem("rd.site") || "";
    this.rows = new Map();
    this.order = [];
    this.cursor = null;
    this.selected = null;
    this.unseen = new Set();
    this.latest = new Map();
    this.views = VIEWS.filter((v) => v !== "all" || isStaffLead);
    this.list = h("ul", { class: "rd-list", role: "listbox", tabindex: "0", "aria-label": t("console.nav.inbox"), onkeydown: (e) => this.onKey(e) });
    this.more = h("button", { class: "rd-more", hidden: true, onclick: () => this.load(false) }, t("console.inbox.more"));
    this.tabs = h("div", { class: "rd-tabs", role: "tablist" });
    const siteSelect =
      boot.sites.length > 1
        ? h(
            "select",
            { class: "rd-site", "aria-label": "site", onchange: (e) => { this.site = e.target.value; localStorage.setItem("rd.site", this.site); this.load(true); } },
            h("option", { value: "" }, t("console.inbox.all_sites")),
            boot.sites.map((s) => h("option", { value: String(s.id), selected: String(s.id) === this.site }, s.name)),
          )
        : null;
    this.labels = new InboxLabels(this);
    this.filters = new InboxFilters(this);
    this.drill = new InboxDrill(this);
    // The label filter's count query (labels.js) carries the other filters too, so the
    // per-view counts follow every filter.
    const labelParams = this.labels.params.bind(this.labels);
    this.labels.params = (q) => (labelParams(q), this.filters.params(q));
    this.pane = h("section", { class: "rd-pane" });
    this.conversation = new Conversation(socket, (c) => this.onUpdated(c, true));
    this.conversation.onLabels = (id, labels) => this.labels.onLabels(id, labels);
    // The server skips the sending socket when it fans a message out: its ack carries it.
    this.conversation.onSent = (m) => this.onMessage(m);
    this.root = h(
      "div",
      { class: "rd-inbox" },
      h("aside", { class: "rd-col" }, h("div", { class: "rd-col-head" }, this.drill.banner, this.tabs, this.filters.search, h("div", { class: "rd-filters" }, siteSelect, this.labels.select, this.filters.selects)), this.list, this.more),
      this.pane,
    );
    socket.on("conversation:updated", ({ conversation }) => this.onUpdated(conversation, false));
    socket.on("message:new", ({ message }) => this.onMessage(message));
    setInterval(() => this.renderList(), 30_000);
    document.addEventListener("visibilitychange", () => this.title());
    // Browsers only ask for notification permission after a user gesture.
    document.addEventListener(
      "click",
      () => {
        if ("Notification" in window && Notification.permission === "default") Notification.requestPermission().catch(() => {});
      },
      { once: true },
    );
  }

  show([view, id]) {
    const v = this.views.includes(view) ? view : "queue";
    if (v !== this.view || !this.loaded) {
      // Choosing another view leaves a drill-down (its list ignores the view).
      if (this.loaded && v !== this.view) this.drill.clear(false);
      this.view = v;
      this.load(true);
    }
    this.renderTabs();
    if (id) {
      if (this.selected !== id) {
        this.selected = id;
        this.unseen.delete(id);
        this.title();
        fill(this.pane, this.conversation.root);
        this.conversation.open(id);
        this.renderList();
      }
    } else {
      this.selected = null;
      this.conversation.close();
      fill(this.pane, h("div", { class: "rd-empty" }, t("console.inbox.pick")));
      this.renderList();
    }
  }

  matches(c) {
    return matches(this.view, c) && this.labels.matches(c) && this.filters.matches(c);
  }

  renderTabs() {
    fill(this.tabs, 
      ...this.views.map((v) =>
        h("a", { href: `#/inbox/${v}`, role: "tab", "aria-selected": String(v === this.view), class: v === this.view ? "on" : "" }, t(`console.view.${v}`), this.labels.count(v)),
      ),
    );
  }

  async load(reset) {
    this.loaded = true;
    // A reset keeps showing the current rows until the new page arrives: clearing them
    // first let any render in between (a presence change, a reconnect) flash an empty list.
    const cursor = reset ? null : this.cursor;
    const q = new URLSearchParams({ view: this.view, limit: "50" });
    // A drill-down names its own site.
    if (this.site && !this.drill.active()) q.set("site", this.site);
    this.labels.params(q);
    this.drill.params(q);
    if (cursor) q.set("cursor", cursor);
    const view = this.view;
    // Only the latest request may fill the list: filters can change while one is in flight.
    const seq = (this.loadSeq = (this.loadSeq || 0) + 1);
    try {
      const page = await api("GET", `/api/v1/conversations?${q}`);
      if (view !== this.view || seq !== this.loadSeq) return;
      if (reset) {
        this.rows.clear();
        this.order = [];
      }
      for (const row of page.items) {
        if (!this.rows.has(row.id)) this.order.push(row.id);
        this.rows.set(row.id, row);
      }
      this.cursor = page.next_cursor;
      this.more.hidden = !this.cursor;
      this.drill.render(page.total);
    } catch (err) {
      console.warn("inbox", err);
    }
    this.labels.refreshCounts();
    this.renderList();
  }

  resync() {
    this.load(true);
    this.conversation.resync();
  }

  async onUpdated(c, mine) {
    // Updates can overtake the REST fetch of a new row: keep the newest state per id and
    // let it win over anything older (compared by updated_at).
    const previous = this.latest.get(c.id) || this.rows.get(c.id);
    this.latest.set(c.id, c);
    const apply = (row, x) => {
      if (x.updated_at < row.updated_at) return;
      Object.assign(row, { status: x.status, assignee_id: x.assignee_id, updated_at: x.updated_at });
      if (x.last_seq !== undefined) row.last_seq = Math.max(row.last_seq, x.last_seq);
      if ("assignee" in x) row.assignee_name = x.assignee?.name ?? null;
      if ("team_id" in x) row.team_id = x.team_id;
      if ("handoff_reason" in x) row.handoff_reason = x.handoff_reason;
    };
    if (c.status === "queued" && previous?.status !== "queued" && !mine && c.id !== this.selected) this.notifyQueued(c);
    this.labels.refreshCounts();
    const row = this.rows.get(c.id);
    if (this.drill.active()) {
      // A drill-down is a fixed set (the figure's): rows change state but none join or leave.
      if (row) {
        apply(row, c);
        this.renderList();
      }
      return;
    }
    if (this.site && String(c.site_id) !== this.site) return;
    if (row) {
      apply(row, c);
      if (!matches(this.view, row) || !this.filters.matches(row, false)) {
        this.rows.delete(c.id);
        this.order = this.order.filter((id) => id !== c.id);
      }
      return this.renderList();
    }
    if (!matches(this.view, c)) return;
    let fresh;
    try {
      fresh = await api("GET", `/api/v1/conversations/${encodeURIComponent(c.id)}`);
    } catch {
      return; // not ours to see
    }
    apply(fresh, this.latest.get(c.id));
    const existing = this.rows.get(fresh.id);
    if (existing) apply(existing, fresh);
    else if (this.matches(fresh)) {
      this.rows.set(fresh.id, fresh);
      this.order.unshift(fresh.id);
    }
    this.renderList();
  }

  onMessage(m) {
    const row = this.rows.get(m.conversation_id);
    if (!row) return;
    const text = plainText(m.text);
    row.last_message = text.length > 140 ? text.slice(0, 139) + "…" : text;
    row.last_sender = m.sender.kind;
    row.last_seq = Math.max(row.last_seq, m.seq);
    if (m.conversation_id !== this.selected && m.sender.kind !== "agent") row.unread += 1;
    this.renderList();
  }

  notifyQueued(c) {
    this.unseen.add(c.id);
    this.title();
    if ("Notification" in window && Notification.permission === "granted") {
      try {
        const n = new Notification(t("console.inbox.new_queued"), { tag: `rd-${c.id}` });
        n.onclick = () => {
          window.focus();
          location.hash = `#/inbox/queue/${c.id}`;
        };
      } catch {
        // Notifications are best effort.
      }
    }
  }

  title() {
    const n = this.unseen.size;
    document.title = `${n ? `(${n}) ` : ""}${t("console.title")} · ${t("app.name")}`;
    const badge = document.getElementById("rd-queue-count");
    if (badge) {
      badge.hidden = !n;
      badge.textContent = String(n);
    }
  }

  renderList() {
    const items = this.order.map((id) => this.rows.get(id)).filter(Boolean);
    const focused = document.activeElement === this.list;
    clear(this.list);
    if (!items.length) this.list.append(this.filters.empty() || h("li", { class: "rd-empty-row" }, t("console.inbox.empty")));
    for (const r of items) {
      const name = r.visitor.name || r.visitor.email || `${t("console.inbox.visitor")} ${r.visitor.id.slice(0, 6)}`;
      const since = r.status === "queued" ? r.queued_at || r.created_at : r.last_message_at || r.updated_at;
      this.list.append(
        h(
          "li",
          {
            role: "option",
            class: `rd-row${r.id === this.selected ? " sel" : ""}${r.unread ? " unread" : ""}`,
            "aria-selected": String(r.id === this.selected),
            dataset: { id: r.id, status: r.status },
            onclick: () => (location.hash = `#/inbox/${this.view}/${r.id}`),
          },
          h("div", { class: "rd-row-top" },
            r.unread ? h("span", { class: "rd-unread", title: t("console.inbox.unread") }) : null,
            h("span", { class: "rd-row-name" }, name),
            h("span", { class: `rd-status s-${r.status}` }, t(`console.status.${r.status}`)),
          ),
          h("div", { class: "rd-row-snippet" }, r.last_message || "—"),
          chips(r.labels),
          h("div", { class: "rd-row-meta" },
            h("span", {}, r.status === "queued" ? `${t("console.inbox.waiting")} ${ago(since)}` : ago(since)),
            r.assignee_name ? h("span", {}, r.assignee_name, " ", presenceMark(r)) : null,
          ),
        ),
      );
    }
    if (focused) this.list.focus();
  }

  onKey(e) {
    const ids = this.order.filter((id) => this.rows.has(id));
    if (!ids.length) return;
    let i = ids.indexOf(this.selected);
    if (e.key === "ArrowDown" || e.key === "j") i = Math.min(ids.length - 1, i + 1);
    else if (e.key === "ArrowUp" || e.key === "k") i = Math.max(0, i - 1);
    else if (e.key === "Enter") {
      this.conversation.focusReply();
      return;
    } else return;
    e.preventDefault();
    location.hash = `#/inbox/${this.view}/${ids[i]}`;
  }
}
