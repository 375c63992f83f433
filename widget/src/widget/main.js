// The full widget, loaded by the loader on first open or when the browser is idle. It
// takes over the loader's Shadow DOM and API. Delivery rules (docs/protocol.md): render
// by seq, drop seqs already shown, keep unacknowledged sends keyed by client_id and resend
// them with the same client_id, and `sync` from the last seq after every reconnect.
import { io } from "socket.io-client";
import css from "./styles.css";
import { h, icon, link, safeUrl } from "./dom.js";
import { pickLocale, translator } from "./i18n.js";
import { openStorage } from "./storage.js";
import { ACCEPT, MAX_FILES, attachmentView, fileProblem, pendingFileView, remember, upload } from "./files.js";

const ACK_MS = 8000;
const PAGE = 500;
const RETRYABLE = new Set(["rate_limited", "internal", "server_busy"]);
const TRIES = 5;
const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,250}\.[^\s@]{2,}$/;

const api = window.Relaydesk;
const ctx = api._c;
const { cfg, root, launcher } = ctx;
// The site's settings from `/widget/config` (the loader merged its `options` into cfg).
const site = ctx.site || {};
const locale = pickLocale(cfg.locale, site.default_locale);
const siteGreeting = site.greeting?.[locale];
const t = translator(locale);
const store = openStorage(`relaydesk:${cfg.siteKey}:`);
const badge = launcher.querySelector("i");
const apiRoot = (() => {
  const u = new URL(ctx.base);
  return u.origin + u.pathname.replace(/widget\/$/, "");
})();
const token = () => store.get("token");

const S = {
  open: false,
  conv: null,
  msgs: new Map(), // seq → M
  cids: new Set(), // client_ids of shown messages
  pending: new Map(), // client_id → {cid, text, status, tries, el}
  streams: new Map(), // stream_id → {parts, el, bubble}
  lastSeq: 0,
  myRead: 0,
  agentRead: 0,
  suggestions: [],
  queue: null,
  agentsOnline: true,
  connected: false,
  fatal: null,
  identity: null,
};

const emitEvent = (name, data) => {
  for (const fn of ctx.handlers[name] || []) {
    try {
      fn(data);
    } catch (e) {
      console.error(e);
    }
  }
};

// ---------------------------------------------------------------- view

const style = h("style", {}, css);
const brand = cfg.color;
const lum = (() => {
  const x = brand.length == 4 ? brand.replace(/\w/g, (c) => c + c) : brand;
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(x.slice(i, i + 2), 16) / 255);
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
})();
const wrap = h("div", {
  class: `w ${cfg.position}`,
  lang: locale == "zh" ? "zh-CN" : "en",
  style: `--c:${brand};--on:${lum > 0.62 ? "#16181d" : "#fff"}`,
});

const avatar = h("div", { class: "av" });
const title = h("div", { class: "tt", id: "rd-title" });
const subtitle = h("div", { class: "st", role: "status" });
const humanBtn = h("button", { type: "button", class: "hb", onclick: () => requestHuman() }, icon("person"), t("human"));
const closeBtn = h(
  "button",
  { type: "button", class: "x", "aria-label": t("close"), onclick: () => setOpen(false) },
  icon("close"),
);
const header = h("header", {}, avatar, h("div", { class: "hd" }, title, subtitle), closeBtn);

const intro = h(
  "div",
  { class: "intro" },
  h(
    "div",
    { class: "bub", dir: "auto" },
    cfg.greeting || (typeof siteGreeting == "string" && siteGreeting.trim() ? siteGreeting.slice(0, 300) : t("greeting")),
  ),
);
const log = h("div", { class: "log", role: "log", "aria-live": "polite", "aria-label": t("dialog") });
const live = h("div", { class: "live" });
const typingEl = h("div", { class: "typing", hidden: true, "aria-live": "polite" });
const chips = h("div", { class: "qr" });
const cards = h("div", { class: "cards" });
const scroller = h("div", { class: "sc" }, intro, log, live, chips, cards, typingEl);

const input = h("textarea", {
  rows: 1,
  placeholder: t("placeholder"),
  "aria-label": t("placeholder"),
  maxlength: 10000,
  enterkeyhint: "send",
});
const sendBtn = h("button", { type: "submit", class: "sb", "aria-label": t("send") }, icon("send"));
const picker = h("input", { type: "file", accept: ACCEPT, multiple: true, hidden: true, tabindex: "-1" });
const attachBtn = h("button", { type: "button", class: "ab", "aria-label": t("attach"), title: t("attach"), onclick: () => picker.click() }, icon("clip"));
const fileErr = h("div", { class: "ferr fe", role: "alert" });
const composer = h("form", { class: "cp", onsubmit: (e) => (e.preventDefault(), submit()) }, attachBtn, picker, input, sendBtn);
const prechat = h("div", { class: "pre", hidden: true });
const footer = h("span", { class: "pw" }, t("powered"));
const panel = h(
  "div",
  { class: "p", role: "dialog", "aria-modal": "false", "aria-labelledby": "rd-title", hidden: true },
  header,
  scroller,
  prechat,
  fileErr,
  composer,
  h("div", { class: "ft" }, humanBtn, footer),
);
wrap.append(panel);
root.append(style, wrap);

const nearBottom = () => scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
function scrollEnd(force) {
  if (force || nearBottom()) requestAnimationFrame(() => (scroller.scrollTop = scroller.scrollHeight));
}
const keep = (fn) => {
  const stick = nearBottom();
  fn();
  scrollEnd(stick);
};

const clock = (iso) =>
  new Date(iso || Date.now()).toLocaleTimeString(locale == "zh" ? "zh-CN" : "en", {
    hour: "numeric",
    minute: "2-digit",
  });

function tick(state) {
  const names = { sending: "clock", sent: "check", read: "checks", failed: "alert" };
  return h("span", { class: `tk ${state}`, role: "img", "aria-label": t(state == "failed" ? "failed" : state), title: t(state == "failed" ? "failed" : state) }, icon(names[state]));
}

function senderName(m) {
  if (m.sender.kind == "bot") return m.sender.name && m.sender.name != "Bot" ? m.sender.name : t("bot");
  return m.sender.name || t("agent");
}

// The entry's own page, else its page in Relaydesk's public help center.
function entryUrl(c) {
  const own = safeUrl(c.url);
  const m = own ? null : /^(article|faq):(\d{1,12})$/.exec(c.entry_id);
  return own || (m ? `${apiRoot}help/${encodeURIComponent(cfg.siteKey)}/${m[1]}/${m[2]}` : null);
}

// Bot text: `[n]` markers become links to the cited article, only for http(s) URLs.
function withCitations(text, citations) {
  const byN = new Map();
  for (const c of Array.isArray(citations) ? citations : [])
    if (c && Number.isInteger(c.n)) byN.set(c.n, { url: entryUrl(c), title: String(c.title ?? "") });
  const out = [];
  let last = 0;
  for (const mt of text.matchAll(/\[(\d{1,3})\]/g)) {
    const c = byN.get(+mt[1]);
    if (!c) continue;
    out.push(text.slice(last, mt.index));
    const label = `${t("sources")} ${mt[1]}${c.title ? ": " + c.title : ""}`;
    out.push(
      c.url
        ? h("a", { class: "ci", href: c.url, target: "_blank", rel: "noopener noreferrer nofollow", title: c.title, "aria-label": label }, mt[1])
        : h("sup", { class: "ci", title: c.title }, mt[1]),
    );
    last = mt.index + mt[0].length;
  }
  out.push(text.slice(last));
  return out;
}

function articleList(label, items) {
  const rows = (Array.isArray(items) ? items : [])
    .filter((a) => a && typeof a.title == "string")
    .slice(0, 5)
    .map((a, i) => {
      const url = entryUrl(a);
      const text = (a.n ? a.n + ". " : "") + a.title;
      return h("li", {}, icon("doc"), url ? link(url, text) : h("span", {}, text));
    });
  return rows.length ? h("div", { class: "src" }, h("div", { class: "sl" }, label), h("ul", {}, rows)) : null;
}

function feedbackButtons(m) {
  const given = store.json("fb", {})[m.id];
  const make = (rating, name, label) =>
    h(
      "button",
      { type: "button", class: "fb", "aria-label": label, title: label, "aria-pressed": String(given == rating), onclick: (e) => rate(m, rating, e.currentTarget.parentNode) },
      icon(name),
    );
  return h("div", { class: "fbs", role: "group" }, make("up", "up", t("helpful")), make("down", "down", t("notHelpful")));
}

function bubbleRow(kind, sender, body, meta, extra) {
  return h(
    "div",
    { class: `m ${kind}`, "data-sender": sender },
    h("div", { class: "bw" }, body, extra, meta),
  );
}

function renderMessage(m, quiet) {
  const kind = m.sender.kind;
  const mine = kind == "visitor";
  const p = m.payload && typeof m.payload == "object" ? m.payload : {};
  const files = (Array.isArray(p.attachments) ? p.attachments : []).map((a) => attachmentView(a, apiRoot, token, t));
  const body = [
    p.text_auto && files.length ? null : h("div", { class: "bub", dir: "auto" }, kind == "bot" ? withCitations(m.text, p.citations) : m.text),
    files.length ? h("div", { class: "atts" }, files) : null,
  ];
  const meta = h(
    "div",
    { class: "meta" },
    h("time", { datetime: m.created_at }, clock(m.created_at)),
    mine ? tick(m.seq <= S.agentRead ? "read" : "sent") : null,
    kind == "bot" && p.action != "handoff" ? feedbackButtons(m) : null,
  );
  const extra =
    kind == "bot"
      ? [
          articleList(t("sources"), p.citations),
          articleList(t("related"), p.related),
          p.action == "handoff" && S.conv?.status == "bot"
            ? h("button", { type: "button", class: "chip", onclick: () => requestHuman() }, t("human"))
            : null,
        ]
      : null;
  const sender = `${kind}:${m.sender.id ?? ""}`;
  const el = bubbleRow(kind, sender, body, meta, extra);
  el.dataset.seq = m.seq;
  if (quiet) el.classList.add("q");
  if (!mine && kind != "system") {
    const prev = lastConfirmedBefore(m.seq);
    if (!prev || prev.dataset.sender != sender) el.prepend(h("div", { class: "who" }, senderName(m)));
  }
  return el;
}

function lastConfirmedBefore(seq) {
  for (let n = log.lastElementChild; n; n = n.previousElementSibling)
    if (n.dataset.seq && +n.dataset.seq < seq) return n;
  return null;
}

function insertBySeq(el, seq) {
  let before = null;
  for (let n = log.lastElementChild; n; n = n.previousElementSibling) {
    if (n.dataset.seq && +n.dataset.seq < seq) break;
    before = n;
  }
  log.insertBefore(el, before);
}

function renderPending(p) {
  const meta = h("div", { class: "meta" });
  if (p.status == "failed")
    meta.append(
      h("span", { class: "err" }, p.reason || t("failed")),
      p.final ? h("button", { type: "button", class: "rt", onclick: () => drop(p) }, t("remove")) : h("button", { type: "button", class: "rt", onclick: () => retry(p) }, t("retry")),
      tick("failed"),
    );
  else meta.append(clock(), tick("sending"));
  const body = [
    p.text ? h("div", { class: "bub", dir: "auto" }, p.text) : null,
    p.files?.length ? h("div", { class: "atts" }, p.files.map((f) => pendingFileView(f, t, p.status == "failed"))) : null,
  ];
  const el = bubbleRow("visitor pending" + (p.status == "failed" ? " failed" : ""), "visitor:", body, meta);
  el.dataset.cid = p.cid;
  if (p.el) {
    p.el.replaceWith(el);
    el.classList.add("q");
  } else log.append(el);
  p.el = el;
}

function refreshTicks() {
  for (const el of log.querySelectorAll(".m.visitor[data-seq] .tk.sent")) {
    if (+el.closest(".m").dataset.seq <= S.agentRead) el.replaceWith(tick("read"));
  }
}

function renderHeader() {
  const c = S.conv;
  const who = c?.status == "assigned" ? assignee() : null;
  avatar.replaceChildren();
  if (who) {
    const url = safeUrl(who.avatar_url);
    avatar.append(url ? h("img", { src: url, alt: "" }) : (who.name || "?").trim().charAt(0).toUpperCase());
    title.textContent = who.name || t("agent");
  } else {
    avatar.append(icon("bot"));
    title.textContent = t("title");
  }
  subtitle.textContent = S.fatal
    ? S.fatal
    : S.wanted && !S.connected
      ? S.everConnected
        ? t("reconnecting")
        : t("connecting")
      : who
        ? t("agent")
        : site.open_now === false
          ? t("away")
          : t("subtitle");
  humanBtn.hidden = !!S.fatal || (c && c.status != "bot");
}

function assignee() {
  const c = S.conv;
  if (c.assignee && typeof c.assignee == "object") return c.assignee;
  // Until the server sends `assignee`, the latest agent message names them.
  const last = [...S.msgs.values()].reverse().find((m) => m.sender.kind == "agent");
  return { name: last?.sender.name || null };
}

function renderChips() {
  const last = S.msgs.size ? S.msgs.get(S.lastSeq) : null;
  let list = [];
  if (!last && !S.pending.size) list = S.suggestions;
  else if (last?.sender.kind == "bot" && !S.pending.size) list = last.payload?.suggestions;
  list = (Array.isArray(list) ? list : []).filter((s) => typeof s == "string" && s.trim()).slice(0, 4);
  chips.replaceChildren(
    ...list.map((s) => h("button", { type: "button", class: "chip", onclick: () => sendText(s) }, s)),
  );
  chips.setAttribute("aria-label", t("suggested"));
}

let cardKey = "";
function renderCards() {
  const c = S.conv;
  let key = "";
  if (c?.status == "queued")
    key = store.get("offline:" + c.id) ? "offline-done" : S.agentsOnline ? `queue:${S.queue}` : "offline";
  else if (c?.status == "resolved") key = store.get("csat:" + c.id) ? "csat-done" : "csat";
  if (key == cardKey) return;
  cardKey = key;
  keep(() => {
    cards.replaceChildren();
    if (key.startsWith("queue"))
      cards.append(
        h("div", { class: "card queue", role: "status" }, h("span", { class: "pulse" }), S.queue == null ? t("queueWait") : S.queue <= 1 ? t("queueNext") : t("queue", { n: S.queue })),
      );
    else if (key == "offline") cards.append(offlineForm());
    else if (key == "csat") cards.append(csatForm());
    else if (key.endsWith("done")) cards.append(h("div", { class: "card done", role: "status" }, t(key == "csat-done" ? "csatThanks" : "offlineDone")));
  });
}

function field(label, control) {
  return h("label", { class: "fl" }, h("span", {}, label), control);
}

function offlineForm() {
  const email = h("input", { type: "email", required: true, autocomplete: "email", maxlength: 320, value: S.identity?.email || "" });
  const msg = h("textarea", { rows: 3, required: true, maxlength: 5000 });
  const err = h("div", { class: "ferr", role: "alert" });
  return h(
    "form",
    {
      class: "card form offline",
      novalidate: true,
      onsubmit: async (e) => {
        e.preventDefault();
        if (!EMAIL.test(email.value.trim())) return (err.textContent = t("invalidEmail"));
        if (!msg.value.trim()) return msg.focus();
        const r = await call("offline:submit", { conversation_id: S.conv.id, email: email.value.trim(), message: msg.value.trim() });
        if (!r?.ok) return (err.textContent = r?.error?.message || t("reconnecting"));
        store.set("offline:" + S.conv.id, "1");
        renderCards();
      },
    },
    h("h3", {}, t("offlineTitle")),
    h("p", {}, t("offlineText")),
    field(t("email"), email),
    field(t("message"), msg),
    err,
    h("button", { type: "submit", class: "pb" }, t("submit")),
  );
}

function csatForm() {
  let score = 0;
  const stars = [1, 2, 3, 4, 5].map((n) =>
    h("button", {
      type: "button",
      class: "star",
      role: "radio",
      "aria-checked": "false",
      "aria-label": t("star", { n }),
      onclick: () => {
        score = n;
        stars.forEach((s, i) => {
          s.setAttribute("aria-checked", String(i + 1 == n));
          s.classList.toggle("on", i < n);
        });
        send.disabled = false;
      },
    }, "★"),
  );
  const comment = h("textarea", { rows: 2, maxlength: 2000, placeholder: t("csatComment"), "aria-label": t("csatComment") });
  const send = h("button", { type: "submit", class: "pb", disabled: true }, t("csatSubmit"));
  const err = h("div", { class: "ferr", role: "alert" });
  return h(
    "form",
    {
      class: "card form csat",
      onsubmit: async (e) => {
        e.preventDefault();
        if (!score) return;
        const body = { conversation_id: S.conv.id, score };
        if (comment.value.trim()) body.comment = comment.value.trim();
        const r = await call("csat:submit", body);
        if (!r?.ok) return (err.textContent = r?.error?.message || t("reconnecting"));
        store.set("csat:" + S.conv.id, "1");
        renderCards();
      },
    },
    h("h3", {}, t("csatTitle")),
    h("div", { class: "stars", role: "radiogroup", "aria-label": t("csatTitle") }, stars),
    comment,
    err,
    send,
  );
}

function renderPrechat() {
  const show = cfg.prechat && !store.get("prechat") && !S.msgs.size && !S.pending.size;
  prechat.hidden = !show;
  composer.hidden = show;
  if (!show || prechat.firstChild) return;
  const name = h("input", { type: "text", autocomplete: "name", maxlength: 200 });
  const email = h("input", { type: "email", autocomplete: "email", maxlength: 320 });
  const err = h("div", { class: "ferr", role: "alert" });
  prechat.append(
    h(
      "form",
      {
        class: "form",
        novalidate: true,
        onsubmit: (e) => {
          e.preventDefault();
          const em = email.value.trim();
          if (em && !EMAIL.test(em)) return (err.textContent = t("invalidEmail"));
          store.set("prechat", "1");
          identify({ name: name.value.trim() || undefined, email: em || undefined });
          renderPrechat();
          input.focus();
        },
      },
      h("h3", {}, t("prechatTitle")),
      field(t("name"), name),
      field(t("email"), email),
      err,
      h("button", { type: "submit", class: "pb" }, t("start")),
    ),
  );
}

let typingTimer;
function showTyping(sender, on) {
  clearTimeout(typingTimer);
  keep(() => {
    typingEl.hidden = !on;
    if (on) {
      const name = sender?.kind == "bot" ? t("bot") : sender?.name || t("agent");
      typingEl.replaceChildren(h("span", { class: "dots", "aria-hidden": "true" }, h("i"), h("i"), h("i")), t("typing", { name }));
      typingTimer = setTimeout(() => showTyping(null, false), 8000);
    }
  });
}

let baseTitle = null;
function renderUnread() {
  let n = 0;
  for (const m of S.msgs.values()) if (m.sender.kind != "visitor" && m.seq > S.myRead) n++;
  const show = S.open ? 0 : n;
  badge.textContent = show ? (show > 9 ? "9+" : String(show)) : "";
  launcher.setAttribute("aria-label", (cfg.launcherText || t("open")) + (show ? ", " + t("unread", { n: show }) : ""));
  const notify = n > 0 && (!S.open || document.hidden);
  if (notify) {
    if (baseTitle == null) baseTitle = document.title;
    document.title = `(${n}) ${t("newMessage")} · ${baseTitle}`;
  } else if (baseTitle != null) {
    document.title = baseTitle;
    baseTitle = null;
  }
  if (n != S.unreadShown) emitEvent("unread", (S.unreadShown = n));
}

function ping() {
  try {
    const a = new AudioContext();
    const o = a.createOscillator();
    const g = a.createGain();
    o.frequency.value = 880;
    g.gain.setValueAtTime(0.06, a.currentTime);
    g.gain.exponentialRampToValueAtTime(0.0001, a.currentTime + 0.35);
    o.connect(g).connect(a.destination);
    o.start();
    o.stop(a.currentTime + 0.35);
    o.onended = () => a.close();
  } catch {}
}

function renderAll() {
  renderHeader();
  renderChips();
  renderCards();
  renderPrechat();
  renderUnread();
}

// ---------------------------------------------------------------- state

function addMessage(m, isLive) {
  if (!m || !S.conv || m.conversation_id != S.conv.id || S.msgs.has(m.seq)) return;
  keep(() => {
    S.msgs.set(m.seq, m);
    S.cids.add(m.client_id);
    S.lastSeq = Math.max(S.lastSeq, m.seq);
    let quiet = false;
    const p = m.sender.kind == "visitor" && S.pending.get(m.client_id);
    if (p) {
      p.el.remove();
      S.pending.delete(m.client_id);
      savePending();
      quiet = true;
    }
    const st = S.streams.get(m.client_id);
    if (st) {
      st.el.remove();
      S.streams.delete(m.client_id);
      quiet = true;
    }
    insertBySeq(renderMessage(m, quiet), m.seq);
    if (m.sender.kind != "visitor") showTyping(null, false);
  });
  if (isLive && m.sender.kind != "visitor") {
    emitEvent("message", m);
    if (cfg.sound && (!S.open || document.hidden)) ping();
  }
  if (m.sender.kind == "agent" || S.conv.status == "assigned") renderHeader();
  renderChips();
  renderPrechat();
  markRead();
  renderUnread();
}

function setConv(c) {
  if (!c || typeof c != "object") return;
  // An ack can carry a state older than an update that overtook it (a handoff ack after
  // the auto-assignment it triggered): the newer one wins.
  if (S.conv?.id == c.id && Date.parse(c.updated_at) < Date.parse(S.conv.updated_at)) return;
  if (S.conv && S.conv.id != c.id) {
    // A new conversation: start a fresh log (pending sends go to the new one).
    S.msgs.clear();
    S.cids.clear();
    S.lastSeq = 0;
    S.agentRead = 0;
    for (const n of [...log.children]) if (n.dataset.seq) n.remove();
  }
  if (c.status != "queued") S.queue = null;
  if (S.conv?.id != c.id) S.myRead = +store.get("read:" + c.id) || 0;
  S.conv = c;
  renderAll();
}

function markRead() {
  if (!S.open || document.hidden || !S.connected || !S.conv || S.lastSeq <= S.myRead) return;
  S.myRead = S.lastSeq;
  store.set("read:" + S.conv.id, String(S.myRead));
  call("read", { conversation_id: S.conv.id, seq: S.myRead });
  renderUnread();
}

// Files not yet uploaded cannot outlive the page; sends whose files are all on the
// server can, by id.
function savePending() {
  const list = [];
  for (const { cid, text, files } of S.pending.values()) {
    if (!files) list.push({ cid, text });
    else if (files.every((f) => f.id)) list.push({ cid, text, files: files.map(({ id, name, type, size }) => ({ id, name, type, size })) });
  }
  store.setJson("pending", list);
}

function newCid() {
  const r = crypto.getRandomValues(new Uint32Array(2));
  return `w-${Date.now().toString(36)}-${r[0].toString(36)}${r[1].toString(36)}`;
}

function sendText(text) {
  text = text.trim();
  if (!text) return;
  const p = { cid: newCid(), text, status: "sending", tries: 0 };
  S.pending.set(p.cid, p);
  savePending();
  keep(() => renderPending(p));
  scrollEnd(true);
  renderChips();
  renderPrechat();
  stopTyping();
  connect();
  flush();
}

function submit() {
  fileErr.textContent = "";
  const text = input.value;
  if (!text.trim()) return;
  input.value = "";
  grow();
  sendText(text);
  input.focus();
}

function drop(p) {
  S.pending.delete(p.cid);
  savePending();
  p.el?.remove();
  renderChips();
}

function retry(p) {
  p.status = "sending";
  p.tries = 0;
  p.reason = null;
  renderPending(p);
  connect();
  flush();
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let flushing = false;

// Sends run one at a time, in the order the visitor wrote them, so their seqs keep that
// order. A send without an ack is retried with the same client_id (the server returns
// the original message), a few times, before the visitor is offered "retry".
async function flush() {
  if (flushing) return;
  flushing = true;
  try {
    for (const p of [...S.pending.values()]) {
      while (S.pending.has(p.cid) && p.status == "sending") {
        if (!S.connected || !S.conv) return;
        let r = await uploadFiles(p);
        if (r === true) {
          const body = { conversation_id: S.conv.id, client_id: p.cid, text: p.text };
          if (p.files) body.attachment_ids = p.files.map((f) => f.id);
          r = await call("message:send", body);
        }
        if (r?.ok) {
          addMessage(r.message, false);
          break;
        }
        if (!S.connected) return;
        if ((r && !RETRYABLE.has(r.error?.code)) || ++p.tries >= TRIES) {
          p.status = "failed";
          p.reason = errorText(r?.error);
          // Retrying cannot change what a file is; the visitor can only take it away.
          p.final = !!FILE_ERRORS[r?.error?.code];
          renderPending(p);
          break;
        }
        await sleep(500 * 2 ** p.tries);
      }
    }
  } finally {
    flushing = false;
  }
}

const FILE_ERRORS = { attachment_too_large: "fileTooBig", attachment_type_not_allowed: "fileType", attachment_empty: "fileEmpty" };
const errorText = (e) => (e && FILE_ERRORS[e.code] ? t(FILE_ERRORS[e.code]) : e?.message);

// Uploads a send's files that are not on the server yet. True when all are; otherwise
// the error, shaped like an ack (null when there was no answer, so it is retried).
async function uploadFiles(p) {
  for (const f of p.files || []) {
    if (f.id) continue;
    const url = `${apiRoot}api/v1/conversations/${encodeURIComponent(S.conv.id)}/attachments`;
    const r = await upload(url, token(), f.file, (x) => f.bar && (f.bar.style.width = Math.round(x * 100) + "%"));
    if (!r.ok) {
      if (!r.status || r.status >= 500) return null;
      return { ok: false, error: r.error || { code: "upload_failed", message: t("failed") } };
    }
    f.id = r.attachment.id;
    remember(f.id, f.file);
    f.bar?.parentNode.remove();
  }
  savePending();
  return true;
}

function sendFiles(list) {
  const files = [...list];
  if (!files.length) return;
  fileErr.textContent = "";
  const problem = files.length > MAX_FILES ? "tooManyFiles" : files.map(fileProblem).find(Boolean);
  if (problem) {
    fileErr.textContent = t(problem, { n: MAX_FILES });
    return;
  }
  const p = {
    cid: newCid(),
    text: "",
    status: "sending",
    tries: 0,
    files: files.map((file) => ({ file, name: file.name, type: file.type, size: file.size, progress: 0, preview: file.type.startsWith("image/") ? URL.createObjectURL(file) : null })),
  };
  S.pending.set(p.cid, p);
  keep(() => renderPending(p));
  scrollEnd(true);
  renderChips();
  connect();
  flush();
}

async function rate(m, rating, group) {
  const r = await call("feedback", { conversation_id: m.conversation_id, message_id: m.id, rating });
  if (!r?.ok) return;
  const fb = store.json("fb", {});
  fb[m.id] = rating;
  store.setJson("fb", fb);
  const [up, down] = group.children;
  up.setAttribute("aria-pressed", String(rating == "up"));
  down.setAttribute("aria-pressed", String(rating == "down"));
}

async function requestHuman() {
  connect();
  if (!S.conv) await new Promise((r) => (S.onConv = r));
  const r = await call("handoff:request", { conversation_id: S.conv.id });
  if (!r?.ok) return;
  if (r.queue && typeof r.queue == "object") {
    S.queue = Number.isInteger(r.queue.position) ? r.queue.position : null;
    S.agentsOnline = r.queue.agents_online !== false;
  }
  setConv(r.conversation);
}

let typingSentAt = 0;
let typingIdle;
function onInput() {
  grow();
  if (!S.connected || !S.conv) return;
  const now = Date.now();
  if (now - typingSentAt > 3000) {
    typingSentAt = now;
    call("typing", { conversation_id: S.conv.id, typing: true });
  }
  clearTimeout(typingIdle);
  typingIdle = setTimeout(stopTyping, 4000);
}
function stopTyping() {
  clearTimeout(typingIdle);
  if (!typingSentAt) return;
  typingSentAt = 0;
  if (S.connected && S.conv) call("typing", { conversation_id: S.conv.id, typing: false });
}

function grow() {
  input.style.height = "auto";
  input.style.height = Math.min(input.scrollHeight, 120) + "px";
}

function identify(o) {
  if (!o || typeof o != "object") return console.warn("Relaydesk: identify() takes an object");
  const id = {};
  for (const k of ["id", "name", "email", "user_hash"]) {
    const v = o[k];
    if (v === undefined) continue;
    if (typeof v != "string" || v.length > 320 || (k == "email" && !EMAIL.test(v)))
      console.warn(`Relaydesk: identify() ignores an invalid ${k}`);
    else id[k] = v;
  }
  S.identity = { ...S.identity, ...id };
  store.setJson("identity", S.identity);
  sendIdentity();
}
function sendIdentity() {
  if (S.identity && S.connected && Object.keys(S.identity).length) call("visitor:identify", S.identity);
}

// The host page, so agents see where the visitor is; single-page apps navigate without a
// reload, so their history changes are watched too. Debounced: apps often push twice.
let pageSent = "";
let pageTimer;
function sendPage() {
  clearTimeout(pageTimer);
  pageTimer = setTimeout(() => {
    let url = location.href;
    if (url.length > 2000) url = (location.origin + location.pathname).slice(0, 2000);
    // By code point: a cut emoji (half a surrogate pair) would be refused.
    const title = Array.from(document.title || "").slice(0, 300).join("");
    const key = url + "\n" + title;
    if (!S.connected || !/^https?:/.test(url) || key == pageSent) return;
    call("visitor:page", { url, title }).then((r) => r?.ok && (pageSent = key));
  }, 300);
}
for (const k of ["pushState", "replaceState"]) {
  const orig = history[k];
  if (typeof orig == "function")
    history[k] = function (...a) {
      const r = orig.apply(this, a);
      sendPage();
      return r;
    };
}
addEventListener("popstate", sendPage);
addEventListener("hashchange", sendPage);

// ---------------------------------------------------------------- transport

let sock;
const call = (event, data) =>
  sock && S.connected ? sock.timeout(ACK_MS).emitWithAck(event, data).catch(() => null) : Promise.resolve(null);

function connect() {
  if (sock || S.fatal) return;
  S.wanted = true;
  const url = new URL(ctx.base);
  sock = io(url.origin + "/widget", {
    path: url.pathname.replace(/widget\/$/, "") + "socket.io/",
    transports: ["websocket", "polling"],
    tryAllTransports: true,
    reconnectionDelay: 400,
    reconnectionDelayMax: 8000,
    auth: (cb) => cb({ site_key: cfg.siteKey, visitor_token: store.get("token"), locale }),
  });
  sock.on("session", (s) => s?.visitor_token && store.set("token", s.visitor_token));
  sock.on("connect", onConnect);
  sock.on("disconnect", () => {
    S.connected = false;
    renderHeader();
  });
  sock.on("connect_error", (err) => {
    const code = err?.data?.code;
    if (code == "invalid_token" || code == "token_expired") {
      store.set("token", null);
      setTimeout(() => sock.connect(), 50);
    } else if (code) {
      S.fatal = t("unavailable");
      console.warn("Relaydesk: " + (err.data.message || code));
      renderHeader();
    }
    renderHeader();
  });
  sock.on("message:new", (d) => addMessage(d?.message, true));
  sock.on("message:stream", onStream);
  sock.on("typing", (d) => d?.conversation_id == S.conv?.id && d.sender?.kind != "visitor" && showTyping(d.sender, !!d.typing));
  sock.on("read", (d) => {
    if (d?.conversation_id != S.conv?.id || !Number.isInteger(d.seq)) return;
    if (d.reader?.kind == "visitor") {
      if (d.seq > S.myRead) {
        S.myRead = d.seq;
        store.set("read:" + S.conv.id, String(d.seq));
        renderUnread();
      }
    } else if (d.seq > S.agentRead) {
      S.agentRead = d.seq;
      refreshTicks();
    }
  });
  sock.on("conversation:updated", (d) => d?.conversation?.id == S.conv?.id && setConv(d.conversation));
  sock.on("queue:position", (d) => {
    if (d?.conversation_id != S.conv?.id) return;
    S.queue = Number.isInteger(d.position) ? d.position : null;
    S.agentsOnline = true;
    renderCards();
  });
  // Browsers know at once when the network goes; don't wait for a ping timeout.
  addEventListener("offline", () => sock.io.engine?.close());
  addEventListener("online", () => {
    if (!S.connected) {
      sock.disconnect();
      sock.connect();
    }
  });
}

async function onConnect() {
  S.connected = true;
  S.everConnected = true;
  renderHeader();
  const r = await call("conversation:open", {});
  if (!r?.ok) return;
  const had = S.conv?.id == r.conversation?.id ? S.lastSeq : 0;
  setConv(r.conversation);
  if (Number.isInteger(r.agent_read_seq) && r.agent_read_seq > S.agentRead) {
    S.agentRead = r.agent_read_seq;
    refreshTicks();
  }
  if (Array.isArray(r.suggestions)) S.suggestions = r.suggestions;
  const msgs = Array.isArray(r.messages) ? r.messages : [];
  // `open` returns the latest page; if more than a page was missed, fetch the gap first.
  if (had && msgs.length && msgs[0].seq > had + 1) await syncFrom(had);
  for (const m of msgs) addMessage(m, had > 0 && m.seq > had);
  if (had) await syncFrom(S.lastSeq);
  S.onConv?.();
  renderAll();
  sendIdentity();
  // A reconnect may be a new visitor (an expired token): tell the server again.
  pageSent = "";
  sendPage();
  flush();
  markRead();
}

async function syncFrom(after) {
  for (;;) {
    const r = await call("sync", { conversation_id: S.conv.id, after_seq: after });
    if (!r?.ok || !Array.isArray(r.messages)) return;
    for (const m of r.messages) addMessage(m, true);
    if (r.messages.length < PAGE) return;
    after = r.messages[r.messages.length - 1].seq;
  }
}

function onStream(d) {
  if (!d || d.conversation_id != S.conv?.id || S.cids.has(d.stream_id) || !Number.isInteger(d.index) || typeof d.delta != "string") return;
  let st = S.streams.get(d.stream_id);
  if (!st) {
    const bubble = h("div", { class: "bub", dir: "auto" });
    st = { parts: [], bubble, el: h("div", { class: "m bot streaming", "aria-busy": "true" }, h("div", { class: "who" }, t("bot")), h("div", { class: "bw" }, bubble)) };
    S.streams.set(d.stream_id, st);
    live.append(st.el);
  }
  if (st.parts[d.index] !== undefined) return;
  st.parts[d.index] = d.delta;
  let text = "";
  for (let i = 0; i < st.parts.length && st.parts[i] !== undefined; i++) text += st.parts[i];
  keep(() => {
    st.bubble.textContent = text;
    typingEl.hidden = true;
  });
}

// ---------------------------------------------------------------- open / close, API

function setOpen(v) {
  v = !!v;
  if (S.open == v) return;
  S.open = v;
  const focusInside = root.activeElement && panel.contains(root.activeElement);
  panel.hidden = !v;
  wrap.classList.toggle("open", v);
  launcher.classList.toggle("open", v);
  launcher.setAttribute("aria-expanded", String(v));
  if (v) {
    connect();
    requestAnimationFrame(() => panel.classList.add("in"));
    (composer.hidden ? prechat.querySelector("input") : input)?.focus({ preventScroll: true });
    scrollEnd(true);
    markRead();
  } else {
    panel.classList.remove("in");
    if (focusInside && !cfg.hideLauncher) launcher.focus();
  }
  renderUnread();
  emitEvent(v ? "open" : "close");
}

input.addEventListener("input", onInput);
picker.addEventListener("change", () => {
  sendFiles(picker.files);
  picker.value = "";
});
input.addEventListener("paste", (e) => {
  if (e.clipboardData?.files.length) {
    e.preventDefault();
    sendFiles(e.clipboardData.files);
  }
});
panel.addEventListener("dragover", (e) => {
  if (![...(e.dataTransfer?.types || [])].includes("Files")) return;
  e.preventDefault();
  panel.classList.add("drop");
});
panel.addEventListener("dragleave", (e) => {
  if (!panel.contains(e.relatedTarget)) panel.classList.remove("drop");
});
panel.addEventListener("drop", (e) => {
  panel.classList.remove("drop");
  if (!e.dataTransfer?.files.length) return;
  e.preventDefault();
  sendFiles(e.dataTransfer.files);
});
input.addEventListener("keydown", (e) => {
  if (e.key == "Enter" && !e.shiftKey && !e.isComposing && e.keyCode != 229) {
    e.preventDefault();
    submit();
  }
});
wrap.addEventListener("keydown", (e) => {
  if (e.key == "Escape" && S.open) setOpen(false);
});
document.addEventListener("visibilitychange", () => {
  markRead();
  renderUnread();
});
addEventListener("focus", () => {
  markRead();
  renderUnread();
});

launcher.onclick = () => setOpen(!S.open);
S.identity = store.json("identity", null);
for (const p of store.json("pending", [])) {
  if (p && typeof p.cid == "string" && typeof p.text == "string") {
    const q = { cid: p.cid, text: p.text, status: "sending", tries: 0 };
    if (Array.isArray(p.files)) q.files = p.files.filter((f) => f && typeof f.id == "string");
    S.pending.set(q.cid, q);
    renderPending(q);
  }
}
renderAll();
// A returning visitor (or one with unsent messages) connects now, to get replies and an
// unread badge while the chat is closed; a first-time visitor only when opening it.
if (store.get("token") || S.pending.size) connect();

Object.assign(api, {
  open: () => setOpen(true),
  close: () => setOpen(false),
  toggle: () => setOpen(!S.open),
  identify,
});
launcher.classList.remove("ld");
for (const [name, args] of ctx.q.splice(0)) api[name]?.(...args);
emitEvent("ready");
