// The analytics dashboard (/console/analytics): its own bundle, so the inbox never loads
// the charting library. Every figure comes from /api/v1/analytics (docs/analytics.md);
// every number and chart point opens the conversations behind it.
import uPlot from "uplot";

import { boot, h, t } from "./dom.js";
import { reasonLabel } from "./i18n.js";

const main = document.getElementById("an-main");
const API = "/api/v1/analytics";

function iso(d) {
  return d.toISOString().slice(0, 10);
}

const today = new Date();
const state = {
  site: boot.sites[0]?.id,
  from: iso(new Date(today.getTime() - 29 * 86400e3)),
  to: iso(today),
  team: "",
  agent: "",
  label: "",
  channel: "",
};
for (const [k, v] of new URLSearchParams(location.search)) if (k in state) state[k] = v;

function query(extra = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries({ ...state, ...extra })) if (v !== "" && v !== null && v !== undefined) q.set(k, v);
  return q.toString();
}

async function get(path, extra) {
  const r = await fetch(`${path}?${query(extra)}`, { credentials: "same-origin" });
  if (!r.ok) throw new Error(`${r.status}`);
  return r.json();
}

async function options(path) {
  try {
    const r = await fetch(path, { credentials: "same-origin" });
    return r.ok ? await r.json() : [];
  } catch {
    return [];
  }
}

function secs(v) {
  if (v === null || v === undefined) return t("analytics.none");
  if (v < 60) return `${Math.round(v)} s`;
  if (v < 3600) return `${(v / 60).toFixed(1)} min`;
  return `${(v / 3600).toFixed(1)} h`;
}

function pct(v) {
  return v === null || v === undefined ? t("analytics.none") : `${(v * 100).toFixed(1)}%`;
}

// The conversations behind a figure open in the inbox's own list view: the drill key
// (relaydesk/analytics/drill.py) is the figure's metric with this page's filters, which the
// server resolves to exactly the conversations the figure counts.
function drillUrl(metric, extra = {}) {
  const key = new URLSearchParams(query({ metric, ...extra }));
  return `/console?${new URLSearchParams({ drill: key.toString() })}#/inbox/all`;
}

function card(label, value, sub, metric) {
  return h(
    "a",
    { class: "an-card", href: drillUrl(metric), "data-metric": metric },
    h("span", { class: "an-card-label" }, label),
    h("strong", {}, value),
    sub ? h("span", { class: "an-card-sub" }, sub) : null,
  );
}

function table(title, csv, columns, rows, link, nameLink) {
  return h(
    "section",
    { class: `an-table an-table-${csv}` },
    h("header", {}, h("h3", {}, title), h("a", { href: `${API}/${csv}.csv?${query()}`, download: true }, t("analytics.csv"))),
    h(
      "table",
      {},
      h("thead", {}, h("tr", {}, columns.map(([, label]) => h("th", {}, label)))),
      h(
        "tbody",
        {},
        rows.map((row) =>
          h(
            "tr",
            {},
            columns.map(([key, , fmt], i) => {
              const shown = fmt ? fmt(row[key]) : row[key] ?? "";
              // The row's count (or, per agent, the name) opens its conversations.
              if (link && i === 1) return h("td", {}, h("a", { href: link(row), class: "an-drill-link" }, String(shown)));
              if (nameLink && i === 0) return h("td", {}, h("a", { href: nameLink(row), class: "an-drill-link" }, String(shown)));
              return h("td", {}, shown);
            }),
          ),
        ),
      ),
    ),
  );
}

function chart(series) {
  const holder = h("div", { class: "an-chart", id: "an-chart" });
  const xs = series.points.map((p) => Date.parse(p.start) / 1000);
  const ys = series.points.map((p) => p.value);
  requestAnimationFrame(() => {
    const plot = new uPlot(
      {
        width: Math.max(320, holder.clientWidth || 640),
        height: 220,
        scales: { x: { time: true } },
        series: [{ label: t("analytics.chart.day") }, { label: t("analytics.conversations"), stroke: "#2563eb", fill: "rgba(37,99,235,.12)", points: { size: 6 } }],
        cursor: { points: { size: 8 } },
      },
      [xs, ys],
      holder,
    );
    plot.over.addEventListener("click", () => {
      const i = plot.cursor.idx;
      if (i === null || i === undefined) return;
      const day = series.points[i].start.slice(0, 10);
      location.href = drillUrl("conversations", { from: day, to: day });
    });
  });
  return holder;
}

const COLOURS = ["#2563eb", "#16a34a", "#dc2626", "#9333ea", "#ea580c", "#0891b2"];

// Utilisation per day, one line per agent (at most six); a point opens that agent's
// conversations of that day.
function utilisationChart(rows) {
  const shown = rows.slice(0, COLOURS.length);
  const holder = h("div", { class: "an-chart", id: "an-util-chart" });
  if (!shown.length) return holder;
  const xs = shown[0].points.map((p) => Date.parse(p.start) / 1000);
  const data = [xs, ...shown.map((r) => r.points.map((p) => (p.utilisation === null ? null : +(p.utilisation * 100).toFixed(1))))];
  requestAnimationFrame(() => {
    const plot = new uPlot(
      {
        width: Math.max(320, holder.clientWidth || 640),
        height: 200,
        scales: { x: { time: true }, y: { range: (u, lo, hi) => [0, Math.max(100, hi || 0)] } },
        series: [{ label: t("analytics.chart.day") }, ...shown.map((r, i) => ({ label: r.name || `#${r.agent_id}`, stroke: COLOURS[i], points: { size: 6 }, value: (u, v) => (v === null ? "—" : `${v}%`) }))],
        axes: [{}, { values: (u, ticks) => ticks.map((v) => `${v}%`) }],
        cursor: { points: { size: 8 } },
      },
      data,
      holder,
    );
    plot.over.addEventListener("click", () => {
      const i = plot.cursor.idx;
      if (i === null || i === undefined) return;
      // The agent whose line is nearest the pointer.
      const y = plot.posToVal(plot.cursor.top, "y");
      let best = 0;
      shown.forEach((r, k) => {
        const v = data[k + 1][i];
        const b = data[best + 1][i];
        if (v !== null && (b === null || Math.abs(v - y) < Math.abs(b - y))) best = k;
      });
      const day = shown[best].points[i].start.slice(0, 10);
      location.href = drillUrl("conversations", { agent: shown[best].agent_id, from: day, to: day });
    });
  });
  return holder;
}

function filters(teams, agents, labels) {
  const field = (name, control) => h("label", {}, h("span", {}, t(`analytics.${name}`)), control);
  const select = (name, items) => {
    const s = h("select", { name, onchange: (e) => (state[name] = e.target.value) }, h("option", { value: "" }, t("analytics.any")));
    for (const it of items) s.append(h("option", { value: it.id, selected: String(it.id) === String(state[name]) }, it.name));
    return s;
  };
  const date = (name) => h("input", { type: "date", name, value: state[name], onchange: (e) => (state[name] = e.target.value) });
  const site = h("select", { name: "site", onchange: (e) => ((state.site = e.target.value), load()) });
  for (const s of boot.sites) site.append(h("option", { value: s.id, selected: String(s.id) === String(state.site) }, s.name));
  return h(
    "form",
    { class: "an-filters", onsubmit: (e) => (e.preventDefault(), load()) },
    field("from", date("from")),
    field("to", date("to")),
    field("site", site),
    field("team", select("team", teams)),
    boot.lead ? field("agent", select("agent", agents)) : null,
    field("label", select("label", labels)),
    field("channel", select("channel", [{ id: "widget", name: "Widget" }])),
    h("button", { type: "submit" }, t("analytics.apply")),
    h("a", { class: "an-export", href: `${API}/conversations.csv?${query()}`, download: true }, t("analytics.csv_conversations")),
  );
}

async function load() {
  history.replaceState(null, "", `?${query()}`);
  const [teams, agents, labels] = await Promise.all([
    options(`/api/v1/teams`),
    boot.lead ? options(`/api/v1/agents`) : [],
    options(`/api/v1/labels?site=${state.site}`),
  ]);
  const siteTeams = (Array.isArray(teams) ? teams : []).filter((x) => String(x.site_id) === String(state.site));
  const agentList = (Array.isArray(agents) ? agents : agents.agents || []).map((a) => ({ id: a.id, name: a.name }));
  const labelList = Array.isArray(labels) ? labels : labels.labels || [];
  const [o, series, live, reasons, people, entries, util] = await Promise.all([
    get(`${API}/overview`),
    get(`${API}/timeseries`, { metric: "conversations", interval: "day" }),
    get(`${API}/live`),
    get(`${API}/handoff-reasons`),
    get(`${API}/agents`),
    get(`${API}/entries`),
    get(`${API}/utilisation`),
  ]);
  const liveBox = h(
    "section",
    { class: "an-live" },
    h("h2", {}, t("analytics.live")),
    h("span", {}, `${t("analytics.live.open")}: `, h("a", { href: drillUrl("live_open"), "data-metric": "live_open" }, h("b", {}, live.open))),
    h("span", {}, `${t("analytics.live.unassigned")}: `, h("a", { href: drillUrl("live_queued"), "data-metric": "live_queued" }, h("b", {}, live.unassigned))),
    h("span", {}, `${t("analytics.live.waiting")}: `, h("a", { href: drillUrl("live_queued") }, h("b", {}, live.waiting))),
    h("span", {}, `${t("analytics.live.longest")}: `, h("b", {}, secs(live.longest_wait_s))),
  );
  const body = [];
  if (!o.conversations) {
    body.push(h("section", { class: "an-empty" }, h("h2", {}, t("analytics.empty.title")), h("p", {}, t("analytics.empty.body"))));
  } else {
    const bh = (f) => `${t("analytics.business_hours")}: ${secs(f.business_hours.median)} / ${secs(f.business_hours.p90)}`;
    body.push(
      h(
        "section",
        { class: "an-cards" },
        card(t("analytics.conversations"), o.conversations, null, "conversations"),
        card(t("analytics.bot_resolution"), pct(o.bot.resolution_rate), `${o.bot.resolved} / ${o.bot.involved}`, "bot_resolved"),
        card(t("analytics.handoffs"), o.handoffs.total, pct(o.handoffs.rate), "handoffs"),
        card(t("analytics.frt"), `${secs(o.first_response_s.median)} / ${secs(o.first_response_s.p90)}`, bh(o.first_response_s), "first_response_s"),
        card(t("analytics.queue"), `${secs(o.queue_wait_s.median)} / ${secs(o.queue_wait_s.p90)}`, bh(o.queue_wait_s), "queue_wait_s"),
        card(t("analytics.resolution"), `${secs(o.resolution_s.median)} / ${secs(o.resolution_s.p90)}`, bh(o.resolution_s), "resolution_s"),
        card(t("analytics.csat"), o.csat.average === null || o.csat.average === undefined ? t("analytics.none") : o.csat.average.toFixed(2), String(o.csat.responses), "csat_responses"),
        card(t("analytics.feedback"), `${o.feedback.up} / ${o.feedback.down}`, pct(o.feedback.ratio), "feedback_down"),
      ),
      h("section", { class: "an-panel" }, h("h3", {}, t("analytics.chart")), chart(series)),
      util.length ? h("section", { class: "an-panel an-util" }, h("h3", {}, t("analytics.utilisation.chart")), utilisationChart(util)) : null,
      h(
        "div",
        { class: "an-tables" },
        table(t("analytics.reasons"), "handoff-reasons", [["reason", t("analytics.col.reason"), reasonLabel], ["handoffs", t("analytics.col.count")]], reasons, (r) => drillUrl("handoffs", { reason: r.reason })),
        table(t("analytics.agents"), "agents", [["name", t("analytics.col.agent")], ["conversations", t("analytics.col.conversations")], ["first_response_median_s", t("analytics.col.frt"), secs]], people, (r) => drillUrl("conversations", { agent: r.agent_id })),
        table(
          t("analytics.utilisation"),
          "utilisation",
          [
            ["name", t("analytics.col.agent")],
            ["capacity", t("analytics.col.capacity")],
            ["online_s", t("analytics.col.online"), secs],
            ["concurrent_avg", t("analytics.col.concurrent"), (v) => (v === null || v === undefined ? t("analytics.none") : v.toFixed(2))],
            ["concurrent_peak", t("analytics.col.peak")],
            ["utilisation", t("analytics.col.utilisation"), pct],
            ["at_capacity_s", t("analytics.col.at_capacity"), secs],
          ],
          util,
          null,
          (r) => drillUrl("conversations", { agent: r.agent_id }),
        ),
        table(t("analytics.entries"), "entries", [["entry_id", t("analytics.col.entry")], ["citations", t("analytics.col.citations")], ["thumbs_down", t("analytics.col.down")]], entries),
      ),
    );
  }
  main.replaceChildren(
    h("h1", {}, t("analytics.title"), boot.lead ? null : h("small", {}, ` · ${t("analytics.mine")}`)),
    filters(siteTeams, agentList, labelList),
    liveBox,
    ...body,
  );
}

load().catch((e) => main.replaceChildren(h("p", { class: "an-error" }, String(e))));
