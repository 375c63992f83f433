import { api, boot, fill, h, t } from "./dom.js";
import { reasonLabel } from "./i18n.js";

// The inbox's search box and its team / status / handoff-reason filters. They live in the
// page's query string (`?q=&team=&status=&reason=`), so a reload or a shared link keeps
// them; the server applies them to the list and to the per-view counts alike.
const STATUSES = ["bot", "queued", "assigned", "resolved"];
// `keyword` also matches every `keyword:<word>` on the server.
const REASONS = ["visitor_request", "visitor_asked", "low_confidence", "frustration", "keyword"];
const KEYS = ["q", "team", "status", "reason"];
const MAX_Q = 200;
const DEBOUNCE_MS = 300;

const isTyping = (el) => el instanceof HTMLElement && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));

export class InboxFilters {
  constructor(inbox) {
    this.inbox = inbox;
    this.state = {};
    const url = new URLSearchParams(location.search);
    for (const k of KEYS) {
      const v = (url.get(k) || "").trim();
      if (v) this.state[k] = k === "q" ? v.slice(0, MAX_Q) : v;
    }
    if (!STATUSES.includes(this.state.status)) delete this.state.status;
    if (!REASONS.includes(this.state.reason)) delete this.state.reason;
    if (!/^\d+$/.test(this.state.team || "")) delete this.state.team;

    this.input = h("input", {
      type: "search",
      class: "rd-input rd-search-input",
      maxlength: String(MAX_Q),
      placeholder: t("console.filters.search_hint"),
      "aria-label": t("console.filters.search"),
      value: this.state.q || "",
      oninput: () => this.onType(),
      onkeydown: (e) => this.onSearchKey(e),
    });
    this.clearButton = h("button", { type: "button", class: "rd-search-clear", "aria-label": t("console.filters.clear"), title: t("console.filters.clear"), hidden: !this.state.q, onclick: () => this.clearSearch(true) }, "×");
    this.search = h("div", { class: "rd-search", role: "search" }, h("span", { class: "rd-search-icon", "aria-hidden": "true" }), this.input, this.clearButton);

    this.team = this.select("team", "console.filters.team", "console.filters.all_teams", []);
    this.status = this.select("status", "console.filters.status", "console.filters.all_statuses", STATUSES.map((s) => [s, t(`console.status.${s}`)]));
    this.reason = this.select(
      "reason",
      "console.filters.reason",
      "console.filters.all_reasons",
      REASONS.map((r) => [r, r === "keyword" ? t("console.filters.reason_keyword") : reasonLabel(r)]),
    );
    this.selects = [this.team, this.status, this.reason];
    this.loadTeams();
    // `/` jumps to the search box, unless the agent is typing somewhere (the reply box uses
    // `/` for canned responses).
    document.addEventListener("keydown", (e) => {
      if (e.key !== "/" || e.ctrlKey || e.metaKey || e.altKey || isTyping(e.target) || !this.input.isConnected) return;
      e.preventDefault();
      this.input.focus();
      this.input.select();
    });
  }

  select(key, labelKey, allKey, options) {
    const el = h("select", { class: "rd-site rd-filter", "aria-label": t(labelKey), dataset: { filter: key }, onchange: (e) => this.set(key, e.target.value) });
    this.fillSelect(el, key, allKey, options);
    return el;
  }

  fillSelect(el, key, allKey, options) {
    fill(el, h("option", { value: "" }, t(allKey)), options.map(([value, label]) => h("option", { value, selected: value === this.state[key] }, label)));
    el.classList.toggle("on", !!this.state[key]);
  }

  async loadTeams() {
    if (!boot.can_inbox) return;
    let teams = [];
    try {
      teams = await api("GET", "/api/v1/teams");
    } catch {
        // Teams are optional here: without them the filter has no team choice.
      }
    const many = boot.sites.length > 1;
    const siteName = (id) => boot.sites.find((s) => s.id === id)?.name || "";
    if (this.state.team && !teams.some((x) => String(x.id) === this.state.team)) this.set("team", "");
    this.fillSelect(this.team, "team", "console.filters.all_teams", teams.map((x) => [String(x.id), many ? `${x.name} · ${siteName(x.site_id)}` : x.name]));
    this.team.hidden = teams.length < 2 && !this.state.team;
  }

  onType() {
    this.clearButton.hidden = !this.input.value;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.set("q", this.input.value.trim().slice(0, MAX_Q)), DEBOUNCE_MS);
  }

  onSearchKey(e) {
    if (e.key !== "Escape") return;
    e.preventDefault();
    if (this.input.value) this.clearSearch(false);
    else this.input.blur();
  }

  clearSearch(refocus) {
    clearTimeout(this.timer);
    this.input.value = "";
    this.clearButton.hidden = true;
    this.set("q", "");
    if (refocus) this.input.focus();
  }

  reset() {
    this.input.value = "";
    this.clearButton.hidden = true;
    for (const k of KEYS) delete this.state[k];
    for (const el of this.selects) {
      el.value = "";
      el.classList.remove("on");
    }
    this.changed();
  }

  set(key, value) {
    if ((this.state[key] || "") === (value || "")) return;
    if (value) this.state[key] = value;
    else delete this.state[key];
    this.selects.find((el) => el.dataset.filter === key)?.classList.toggle("on", !!value);
    this.changed();
  }

  changed() {
    const url = new URL(location.href);
    for (const k of KEYS) {
      if (this.state[k]) url.searchParams.set(k, this.state[k]);
      else url.searchParams.delete(k);
    }
    history.replaceState(history.state, "", url);
    this.inbox.load(true);
  }

  active() {
    return KEYS.some((k) => this.state[k]);
  }

  params(q) {
    for (const k of KEYS) if (this.state[k]) q.set(k, this.state[k]);
  }

  // Whether a row pushed live belongs in the filtered list. The search can only be judged
  // on the row's last message; a reload asks the server.
  matches(row, withSearch = true) {
    const s = this.state;
    if (s.status && row.status !== s.status) return false;
    if (s.team && String(row.team_id) !== s.team) return false;
    const reason = row.handoff_reason || "";
    if (s.reason && reason !== s.reason && !reason.startsWith(`${s.reason}:`)) return false;
    return !withSearch || !s.q || (row.last_message || "").toLowerCase().includes(s.q.toLowerCase());
  }

  // The empty list's line when filters hide everything, with a way out.
  empty() {
    if (!this.active()) return null;
    return h("li", { class: "rd-empty-row rd-no-match" }, t("console.filters.no_match"), h("button", { type: "button", class: "rd-btn small", onclick: () => this.reset() }, t("console.filters.reset")));
  }
}
