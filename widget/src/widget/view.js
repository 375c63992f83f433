// The widget's DOM: the panel, its parts, and the render functions that draw the state
// (state.js) into them. Text always goes in as text nodes, except Markdown from the bot
// and agents, which goes through markdown.js.
import css from "./styles.css";
import { h, icon, link, safeUrl } from "./dom.js";
import { apiRoot, cfg, emitEvent, launcher, locale, root, site, store, t, token } from "./context.js";
import { ACCEPT, attachmentView, pendingFileView } from "./files.js";
import { markdownBubble, setMarkdown } from "./markdown.js";
import { csatForm, offlineForm, renderPrechat } from "./forms.js";
import { S } from "./state.js";
import { rate, requestHuman, retry, drop, sendText, submit } from "./transport.js";

const badge = launcher.querySelector("i");
const brand = cfg.color;
const lum = (() => {
  const x = brand.length === 4 ? brand.replace(/\w/g, (c) => c + c) : brand;
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(x.slice(i, i + 2), 16) / 255);
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
})();
export const wrap = h("div", {
  class: `widget ${cfg.position}`,
  lang: locale === "zh" ? "zh-CN" : "en",
  style: `--c:${brand};--on:${lum > 0.62 ? "#16181d" : "#fff"}`,
});

const avatar = h("div", { class: "avatar" });
const title = h("div", { class: "title", id: "rd-title" });
const subtitle = h("div", { class: "subtitle", role: "status" });
const humanBtn = h("button", { type: "button", class: "ask-human", onclick: () => requestHuman() }, icon("person"), t("human"));
const closeBtn = h(
  "button",
  { type: "button", class: "close", "aria-label": t("close"), onclick: () => window.Relaydesk.close() },
  icon("close"),
);
const header = h("header", {}, avatar, h("div", { class: "heading" }, title, subtitle), closeBtn);

const siteGreeting = site.greeting?.[locale];
const intro = h(
  "div",
  { class: "intro" },
  h(
    "div",
    { class: "bubble", dir: "auto" },
    cfg.greeting || (typeof siteGreeting === "string" && siteGreeting.trim() ? siteGreeting.slice(0, 300) : t("greeting")),
  ),
);
export const log = h("div", { class: "log", role: "log", "aria-live": "polite", "aria-label": t("dialog") });
const live = h("div", { class: "live" });
const typingEl = h("div", { class: "typing", hidden: true, "aria-live": "polite" });
const chips = h("div", { class: "quick-replies" });
const cards = h("div", { class: "cards" });
const scroller = h("div", { class: "scroller" }, intro, log, live, chips, cards, typingEl);

export const input = h("textarea", {
  rows: 1,
  placeholder: t("placeholder"),
  "aria-label": t("placeholder"),
  maxlength: 10000,
  enterkeyhint: "send",
});
const sendBtn = h("button", { type: "submit", class: "send", "aria-label": t("send") }, icon("send"));
export const picker = h("input", { type: "file", accept: ACCEPT, multiple: true, hidden: true, tabindex: "-1" });
const attachBtn = h("button", { type: "button", class: "attach", "aria-label": t("attach"), title: t("attach"), onclick: () => picker.click() }, icon("clip"));
export const fileErr = h("div", { class: "form-error file-error", role: "alert" });
export const composer = h("form", { class: "composer", onsubmit: (e) => (e.preventDefault(), submit()) }, attachBtn, picker, input, sendBtn);
export const prechat = h("div", { class: "prechat", hidden: true });
const footer = h("span", { class: "powered" }, t("powered"));
export const panel = h(
  "div",
  { class: "panel", role: "dialog", "aria-modal": "false", "aria-labelledby": "rd-title", hidden: true },
  header,
  scroller,
  prechat,
  fileErr,
  composer,
  h("div", { class: "footer" }, humanBtn, footer),
);
wrap.append(panel);
root.append(h("style", {}, css), wrap);

const nearBottom = () => scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
export function scrollEnd(force) {
  if (force || nearBottom()) requestAnimationFrame(() => (scroller.scrollTop = scroller.scrollHeight));
}
/** Runs `fn`, keeping the log scrolled to the end if it was. */
export function keep(fn) {
  const stick = nearBottom();
  fn();
  scrollEnd(stick);
}

const clock = (iso) =>
  new Date(iso || Date.now()).toLocaleTimeString(locale === "zh" ? "zh-CN" : "en", {
    hour: "numeric",
    minute: "2-digit",
  });

function tick(state) {
  const names = { sending: "clock", sent: "check", read: "checks", failed: "alert" };
  const label = t(state);
  return h("span", { class: `tick ${state}`, role: "img", "aria-label": label, title: label }, icon(names[state]));
}

function senderName(m) {
  if (m.sender.kind === "bot") return m.sender.name && m.sender.name !== "Bot" ? m.sender.name : t("bot");
  return m.sender.name || t("agent");
}

// The entry's own page, else its page in Relaydesk's public help center.
function entryUrl(c) {
  const own = safeUrl(c.url);
  const m = own ? null : /^(article|faq):(\d{1,12})$/.exec(c.entry_id);
  return own || (m ? `${apiRoot}help/${encodeURIComponent(cfg.siteKey)}/${m[1]}/${m[2]}` : null);
}

// `[n]` markers become links to the cited article, only for http(s) URLs.
function citeLinks(citations) {
  const byN = new Map();
  for (const c of Array.isArray(citations) ? citations : [])
    if (c && Number.isInteger(c.n)) byN.set(c.n, { url: entryUrl(c), title: String(c.title ?? "") });
  return (n) => {
    const c = byN.get(n);
    if (!c) return null;
    const label = `${t("sources")} ${n}${c.title ? ": " + c.title : ""}`;
    return c.url
      ? h("a", { class: "cite", href: c.url, target: "_blank", rel: "noopener noreferrer nofollow", title: c.title, "aria-label": label }, String(n))
      : h("sup", { class: "cite", title: c.title }, String(n));
  };
}

function articleList(label, items) {
  const rows = (Array.isArray(items) ? items : [])
    .filter((a) => a && typeof a.title === "string")
    .slice(0, 5)
    .map((a) => {
      const url = entryUrl(a);
      const text = (a.n ? a.n + ". " : "") + a.title;
      return h("li", {}, icon("doc"), url ? link(url, text) : h("span", {}, text));
    });
  return rows.length ? h("div", { class: "sources" }, h("div", { class: "sources-label" }, label), h("ul", {}, rows)) : null;
}

function feedbackButtons(m) {
  const given = store.json("fb", {})[m.id];
  const make = (rating, name, label) =>
    h(
      "button",
      { type: "button", class: "feedback", "aria-label": label, title: label, "aria-pressed": String(given === rating), onclick: (e) => rate(m, rating, e.currentTarget.parentNode) },
      icon(name),
    );
  return h("div", { class: "feedback-group", role: "group" }, make("up", "up", t("helpful")), make("down", "down", t("notHelpful")));
}

function bubbleRow(kind, sender, body, meta, extra) {
  return h("div", { class: `msg ${kind}`, "data-sender": sender }, h("div", { class: "msg-body" }, body, extra, meta));
}

function renderMessage(m, quiet) {
  const kind = m.sender.kind;
  const mine = kind === "visitor";
  const p = m.payload && typeof m.payload === "object" ? m.payload : {};
  const files = (Array.isArray(p.attachments) ? p.attachments : []).map((a) => attachmentView(a, apiRoot, token, t));
  // The visitor's own words are shown as typed; the bot's and agents' are Markdown.
  const text = mine || kind === "system" ? h("div", { class: "bubble", dir: "auto" }, m.text) : markdownBubble(m.text, kind === "bot" ? citeLinks(p.citations) : null);
  const body = [p.text_auto && files.length ? null : text, files.length ? h("div", { class: "attachments" }, files) : null];
  const meta = h(
    "div",
    { class: "meta" },
    h("time", { datetime: m.created_at }, clock(m.created_at)),
    mine ? tick(m.seq <= S.agentRead ? "read" : "sent") : null,
    kind === "bot" && p.action !== "handoff" ? feedbackButtons(m) : null,
  );
  const extra =
    kind === "bot"
      ? [
          articleList(t("sources"), p.citations),
          articleList(t("related"), p.related),
          // Offered while the conversation is still the bot's; hidden once handed off.
          p.action === "handoff" ? h("button", { type: "button", class: "chip ask-human-chip", onclick: () => requestHuman() }, t("human")) : null,
        ]
      : null;
  const sender = `${kind}:${m.sender.id ?? ""}`;
  const el = bubbleRow(kind, sender, body, meta, extra);
  el.dataset.seq = m.seq;
  if (quiet) el.classList.add("quiet");
  if (!mine && kind !== "system") {
    const prev = lastConfirmedBefore(m.seq);
    if (!prev || prev.dataset.sender !== sender) el.prepend(h("div", { class: "sender" }, senderName(m)));
  }
  return el;
}

function lastConfirmedBefore(seq) {
  for (let n = log.lastElementChild; n; n = n.previousElementSibling) if (n.dataset.seq && +n.dataset.seq < seq) return n;
  return null;
}

export function insertMessage(m, quiet) {
  keep(() => {
    const el = renderMessage(m, quiet);
    let before = null;
    for (let n = log.lastElementChild; n; n = n.previousElementSibling) {
      if (n.dataset.seq && +n.dataset.seq < m.seq) break;
      before = n;
    }
    log.insertBefore(el, before);
  });
}

export function clearLog() {
  for (const n of [...log.children]) if (n.dataset.seq) n.remove();
}

export function renderPending(p) {
  const meta = h("div", { class: "meta" });
  const failed = p.status === "failed";
  if (failed)
    meta.append(
      h("span", { class: "err" }, p.reason || t("failed")),
      p.final
        ? h("button", { type: "button", class: "retry", onclick: () => drop(p) }, t("remove"))
        : h("button", { type: "button", class: "retry", onclick: () => retry(p) }, t("retry")),
      tick("failed"),
    );
  else meta.append(clock(), tick("sending"));
  const body = [
    p.text ? h("div", { class: "bubble", dir: "auto" }, p.text) : null,
    p.files?.length ? h("div", { class: "attachments" }, p.files.map((f) => pendingFileView(f, t, failed))) : null,
  ];
  const el = bubbleRow("visitor pending" + (failed ? " failed" : ""), "visitor:", body, meta);
  el.dataset.cid = p.cid;
  keep(() => {
    if (p.el) {
      p.el.replaceWith(el);
      el.classList.add("quiet");
    } else log.append(el);
  });
  p.el = el;
}

export function removePending(p) {
  p.el?.remove();
}

export function refreshTicks() {
  for (const el of log.querySelectorAll(".msg.visitor[data-seq] .tick.sent")) {
    if (+el.closest(".msg").dataset.seq <= S.agentRead) el.replaceWith(tick("read"));
  }
}

export function renderHeader() {
  const c = S.conv;
  const who = c?.status === "assigned" ? assignee() : null;
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
  const withBot = !S.fatal && (!c || c.status === "bot");
  humanBtn.hidden = !withBot;
  // The bot's "Talk to a person" chips only make sense while the bot has the conversation.
  wrap.classList.toggle("handed-off", !!c && c.status !== "bot");
}

function assignee() {
  const c = S.conv;
  if (c.assignee && typeof c.assignee === "object") return c.assignee;
  // Until the server sends `assignee`, the latest agent message names them.
  const last = [...S.timeline.values()].reverse().find((m) => m.sender.kind === "agent");
  return { name: last?.sender.name || null };
}

export function renderChips() {
  const last = S.timeline.size ? S.timeline.get(S.timeline.lastSeq) : null;
  let list = [];
  if (!last && !S.outbox.size) list = S.suggestions;
  else if (last?.sender.kind === "bot" && !S.outbox.size) list = last.payload?.suggestions;
  list = (Array.isArray(list) ? list : []).filter((s) => typeof s === "string" && s.trim()).slice(0, 4);
  chips.replaceChildren(...list.map((s) => h("button", { type: "button", class: "chip", onclick: () => sendText(s) }, s)));
  chips.setAttribute("aria-label", t("suggested"));
}

let cardKey = "";
export function renderCards() {
  const c = S.conv;
  let key = "";
  if (c?.status === "queued") key = store.get("offline:" + c.id) ? "offline-done" : S.agentsOnline ? `queue:${S.queue}` : "offline";
  else if (c?.status === "resolved") key = store.get("csat:" + c.id) ? "csat-done" : "csat";
  if (key === cardKey) return;
  cardKey = key;
  keep(() => {
    cards.replaceChildren();
    if (key.startsWith("queue"))
      cards.append(
        h(
          "div",
          { class: "card queue", role: "status" },
          h("span", { class: "pulse" }),
          S.queue === null ? t("queueWait") : S.queue <= 1 ? t("queueNext") : t("queue", { n: S.queue }),
        ),
      );
    else if (key === "offline") cards.append(offlineForm());
    else if (key === "csat") cards.append(csatForm());
    else if (key.endsWith("done")) cards.append(h("div", { class: "card done", role: "status" }, t(key === "csat-done" ? "csatThanks" : "offlineDone")));
  });
}

let typingTimer;
export function showTyping(sender, on) {
  clearTimeout(typingTimer);
  keep(() => {
    typingEl.hidden = !on;
    if (on) {
      const name = sender?.kind === "bot" ? t("bot") : sender?.name || t("agent");
      typingEl.replaceChildren(h("span", { class: "dots", "aria-hidden": "true" }, h("i"), h("i"), h("i")), t("typing", { name }));
      typingTimer = setTimeout(() => showTyping(null, false), 8000);
    }
  });
}

/** A bot answer being written: shown live until its final message arrives. */
export function renderStream(st, text) {
  if (!st.el) {
    st.bubble = h("div", { class: "bubble md", dir: "auto" });
    st.el = h("div", { class: "msg bot streaming", "aria-busy": "true" }, h("div", { class: "sender" }, t("bot")), h("div", { class: "msg-body" }, st.bubble));
    live.append(st.el);
  }
  keep(() => {
    setMarkdown(st.bubble, text, null);
    typingEl.hidden = true;
  });
}

/** Removes the live copy of a streamed answer whose final message arrived. */
export function takeStream(streamId) {
  const st = S.streams.get(streamId);
  if (!st) return false;
  st.el?.remove();
  S.streams.delete(streamId);
  return true;
}

let baseTitle = null;
export function renderUnread() {
  let n = 0;
  for (const m of S.timeline.values()) if (m.sender.kind !== "visitor" && m.seq > S.myRead) n++;
  const show = S.open ? 0 : n;
  badge.textContent = show ? (show > 9 ? "9+" : String(show)) : "";
  launcher.setAttribute("aria-label", (cfg.launcherText || t("open")) + (show ? ", " + t("unread", { n: show }) : ""));
  const notify = n > 0 && (!S.open || document.hidden);
  if (notify) {
    if (baseTitle === null) baseTitle = document.title;
    document.title = `(${n}) ${t("newMessage")} · ${baseTitle}`;
  } else if (baseTitle !== null) {
    document.title = baseTitle;
    baseTitle = null;
  }
  if (n !== S.unreadShown) emitEvent("unread", (S.unreadShown = n));
}

export function ping() {
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
  } catch {
    // No audio (autoplay policy, no device): the badge and title still tell.
  }
}

export function grow() {
  input.style.height = "auto";
  input.style.height = Math.min(input.scrollHeight, 120) + "px";
}

export function renderAll() {
  renderHeader();
  renderChips();
  renderCards();
  renderPrechat();
  renderUnread();
}
