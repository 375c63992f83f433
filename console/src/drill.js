import { fill, h, t, tf } from "./dom.js";
import { reasonLabel } from "./i18n.js";

// The analytics drill-down: `/console?drill=<key>#/inbox/all` lists the conversations
// behind one dashboard figure. The key (metric, site, range, filters; see
// relaydesk/analytics/drill.py) goes to the server as it is, which resolves it to the exact
// set the figure counts, in any status, so the view's status rule does not apply and the
// page's `total` is the figure. It lives in the query string, so a reload keeps it.
const MAX_KEY = 600;

export class InboxDrill {
  constructor(inbox) {
    this.inbox = inbox;
    const raw = new URLSearchParams(location.search).get("drill") || "";
    this.key = raw.length <= MAX_KEY ? raw : "";
    this.banner = h("div", { class: "rd-drill", role: "status", hidden: true });
  }

  active() {
    return !!this.key;
  }

  params(q) {
    if (this.key) q.set("drill", this.key);
  }

  render(total) {
    this.banner.hidden = !this.key;
    if (!this.key) return;
    const k = new URLSearchParams(this.key);
    let figure = t(`console.drill.m.${k.get("metric")}`);
    if (k.get("reason")) figure += ` · ${reasonLabel(k.get("reason"))}`;
    const from = k.get("from");
    const to = k.get("to");
    const range = from && to ? (from === to ? from : `${from} – ${to}`) : "";
    fill(
      this.banner,
      h("span", { class: "rd-drill-title" }, tf("console.drill.behind", { figure })),
      range ? h("span", { class: "rd-drill-range" }, range) : null,
      total === null || total === undefined ? null : h("b", { class: "rd-drill-count", dataset: { total: String(total) } }, tf("console.drill.count", { n: total })),
      h("button", { type: "button", class: "rd-btn small rd-drill-clear", onclick: () => this.clear() }, t("console.drill.clear")),
    );
  }

  clear(reload = true) {
    if (!this.key) return;
    this.key = "";
    const url = new URL(location.href);
    url.searchParams.delete("drill");
    history.replaceState(history.state, "", url);
    this.render();
    if (reload) this.inbox.load(true);
  }
}
