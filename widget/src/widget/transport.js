// The socket and everything sent over it: connect and reconnect (then `conversation:open`
// and `sync` from the last seq), sends through the shared outbox (jslib/delivery.js: same
// client_id on every retry), uploads, typing, read, the host page.
import { io } from "socket.io-client";
import { ackCall, newClientId, syncFrom as syncPages } from "../../../jslib/delivery.js";
import { apiRoot, cfg, ctx, locale, site, store, t, token } from "./context.js";
import { MAX_FILES, fileProblem, remember, upload } from "./files.js";
import { sendIdentity } from "./forms.js";
import { S, addMessage, savePending, setConv, setQueue } from "./state.js";
import {
  fileErr,
  grow,
  input,
  refreshTicks,
  renderAll,
  renderCards,
  renderChips,
  renderHeader,
  renderPending,
  renderStream,
  renderUnread,
  scrollEnd,
  showTyping,
} from "./view.js";
import { renderPrechat } from "./forms.js";

// The server's upload limit (RELAYDESK_ATTACHMENT_MAX_BYTES, served by /widget/config).
const maxBytes = Number.isInteger(site.attachment_max_bytes) && site.attachment_max_bytes > 0 ? site.attachment_max_bytes : 10 * 1024 * 1024;

let sock = null;
/** An ack, or null when not connected or the server did not answer in time. */
export const call = (event, data) =>
  sock && S.connected ? ackCall(sock, event, data).then((r) => (r.ok === false && r.error?.code === "timeout" ? null : r)) : Promise.resolve(null);

export function connect() {
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
    if (code === "invalid_token" || code === "token_expired") {
      store.set("token", null);
      setTimeout(() => sock.connect(), 50);
    } else if (code) {
      S.fatal = t("unavailable");
      console.warn("Relaydesk: " + (err.data.message || code));
    }
    renderHeader();
  });
  sock.on("message:new", (d) => addMessage(d?.message, true));
  sock.on("message:stream", onStream);
  sock.on("typing", (d) => d?.conversation_id === S.conv?.id && d.sender?.kind !== "visitor" && showTyping(d.sender, !!d.typing));
  sock.on("read", onRead);
  sock.on("conversation:updated", (d) => d?.conversation?.id === S.conv?.id && setConv(d.conversation));
  sock.on("queue:position", (d) => {
    if (d?.conversation_id !== S.conv?.id) return;
    // A position says nothing about who is online: the offline form stays if shown.
    S.queue = Number.isInteger(d.position) ? d.position : null;
    if (typeof d.agents_online === "boolean") S.agentsOnline = d.agents_online;
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

function onRead(d) {
  if (d?.conversation_id !== S.conv?.id || !Number.isInteger(d.seq)) return;
  if (d.reader?.kind === "visitor") {
    if (d.seq > S.myRead) {
      S.myRead = d.seq;
      store.set("read:" + S.conv.id, String(d.seq));
      renderUnread();
    }
  } else if (d.seq > S.agentRead) {
    S.agentRead = d.seq;
    refreshTicks();
  }
}

async function onConnect() {
  S.connected = true;
  S.everConnected = true;
  renderHeader();
  const r = await call("conversation:open", {});
  if (!r?.ok) return;
  const had = S.conv?.id === r.conversation?.id ? S.timeline.lastSeq : 0;
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
  if (had) await syncFrom(S.timeline.lastSeq);
  S.onConv?.();
  renderAll();
  sendIdentity();
  // A reconnect may be a new visitor (an expired token): tell the server again.
  pageSent = "";
  sendPage();
  S.outbox.flush();
  markRead();
}

const syncFrom = (after) => syncPages(call, S.conv.id, after, (m) => addMessage(m, true));

function onStream(d) {
  if (!d || d.conversation_id !== S.conv?.id || S.timeline.hasClientId(d.stream_id) || !Number.isInteger(d.index) || typeof d.delta !== "string") return;
  let st = S.streams.get(d.stream_id);
  if (!st) {
    st = { parts: [], el: null, bubble: null };
    S.streams.set(d.stream_id, st);
  }
  if (st.parts[d.index] !== undefined) return;
  st.parts[d.index] = d.delta;
  // Deltas may arrive out of order: show the contiguous prefix only.
  let text = "";
  for (let i = 0; i < st.parts.length && st.parts[i] !== undefined; i++) text += st.parts[i];
  renderStream(st, text);
}

export function markRead() {
  if (!S.open || document.hidden || !S.connected || !S.conv || S.timeline.lastSeq <= S.myRead) return;
  S.myRead = S.timeline.lastSeq;
  store.set("read:" + S.conv.id, String(S.myRead));
  call("read", { conversation_id: S.conv.id, seq: S.myRead });
  renderUnread();
}

// ---------------------------------------------------------------- sending

function queueSend(p) {
  S.outbox.add(p);
  savePending();
  renderPending(p);
  scrollEnd(true);
  renderChips();
  renderPrechat();
  connect();
}

export function sendText(text) {
  text = text.trim();
  if (!text) return;
  stopTyping();
  queueSend({ cid: newClientId("w"), text });
}

export function submit() {
  fileErr.textContent = "";
  const text = input.value;
  if (!text.trim()) return;
  input.value = "";
  grow();
  sendText(text);
  input.focus();
}

export function drop(p) {
  S.outbox.drop(p.cid);
  savePending();
  p.el?.remove();
  renderChips();
}

export function retry(p) {
  p.reason = null;
  S.outbox.retry(p.cid);
  renderPending(p);
  connect();
}

const FILE_ERRORS = { attachment_too_large: "fileTooBig", attachment_type_not_allowed: "fileType", attachment_empty: "fileEmpty" };
const fileLimit = () => ({ mb: Math.round((maxBytes / 1024 / 1024) * 10) / 10 });
const errorText = (e) => (e && FILE_ERRORS[e.code] ? t(FILE_ERRORS[e.code], fileLimit()) : e?.message);

/** One delivery attempt for the outbox: upload what is not on the server, then send. */
export async function attempt(p) {
  let r = await uploadFiles(p);
  if (r === true) {
    const body = { conversation_id: S.conv.id, client_id: p.cid, text: p.text };
    if (p.files) body.attachment_ids = p.files.map((f) => f.id);
    r = await call("message:send", body);
  }
  if (r && !r.ok) {
    p.reason = errorText(r.error);
    // Retrying cannot change what a file is; the visitor can only take it away.
    p.final = !!FILE_ERRORS[r.error?.code];
  }
  return r;
}

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

export function sendFiles(list) {
  const files = [...list];
  if (!files.length) return;
  fileErr.textContent = "";
  const problem = files.length > MAX_FILES ? "tooManyFiles" : files.map((f) => fileProblem(f, maxBytes)).find(Boolean);
  if (problem) {
    fileErr.textContent = t(problem, { n: MAX_FILES, ...fileLimit() });
    return;
  }
  queueSend({
    cid: newClientId("w"),
    text: "",
    files: files.map((file) => ({ file, name: file.name, type: file.type, size: file.size, progress: 0, preview: file.type.startsWith("image/") ? URL.createObjectURL(file) : null })),
  });
}

export async function rate(m, rating, group) {
  const r = await call("feedback", { conversation_id: m.conversation_id, message_id: m.id, rating });
  if (!r?.ok) return;
  const fb = store.json("fb", {});
  fb[m.id] = rating;
  store.setJson("fb", fb);
  const [up, down] = group.children;
  up.setAttribute("aria-pressed", String(rating === "up"));
  down.setAttribute("aria-pressed", String(rating === "down"));
}

export async function requestHuman() {
  connect();
  if (!S.conv) await new Promise((r) => (S.onConv = r));
  const r = await call("handoff:request", { conversation_id: S.conv.id });
  if (!r?.ok) return;
  setQueue(r.queue);
  setConv(r.conversation);
}

// ---------------------------------------------------------------- typing, host page

let typingSentAt = 0;
let typingIdle;
export function onInput() {
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

// The host page, so agents see where the visitor is; single-page apps navigate without a
// reload, so their history changes are watched too. Debounced: apps often push twice.
let pageSent = "";
let pageTimer;
export function sendPage() {
  clearTimeout(pageTimer);
  pageTimer = setTimeout(() => {
    let url = location.href;
    if (url.length > 2000) url = (location.origin + location.pathname).slice(0, 2000);
    // By code point: a cut emoji (half a surrogate pair) would be refused.
    const title = Array.from(document.title || "").slice(0, 300).join("");
    const key = url + "\n" + title;
    if (!S.connected || !/^https?:/.test(url) || key === pageSent) return;
    call("visitor:page", { url, title }).then((r) => r?.ok && (pageSent = key));
  }, 300);
}

export function watchPage() {
  for (const k of ["pushState", "replaceState"]) {
    const orig = history[k];
    if (typeof orig === "function")
      history[k] = function (...a) {
        const r = orig.apply(this, a);
        sendPage();
        return r;
      };
  }
  addEventListener("popstate", sendPage);
  addEventListener("hashchange", sendPage);
}
