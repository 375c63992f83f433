// The widget's state, declared in one place, and the changes to it that arrive from the
// server (a message, a new conversation state). Rendering is in view.js; sending in
// transport.js. Delivery rules (docs/protocol.md, jslib/delivery.js): render by seq, drop
// seqs already shown, keep unacknowledged sends by client_id.
import { Outbox, Timeline } from "../../../jslib/delivery.js";
import { cfg, emitEvent, store } from "./context.js";
import { attempt, markRead } from "./transport.js";
import {
  clearLog,
  insertMessage,
  removePending,
  renderAll,
  renderCards,
  renderChips,
  renderHeader,
  renderPending,
  renderUnread,
  showTyping,
  takeStream,
  ping,
} from "./view.js";
import { renderPrechat } from "./forms.js";

export const S = {
  open: false, // the panel is showing
  wanted: false, // the visitor opened the chat (or has a token): stay connected
  connected: false,
  everConnected: false, // "connecting…" before the first connect, "reconnecting…" after
  fatal: null, // a refusal the visitor cannot fix (site key, origin): shown, no retries
  conv: null, // the conversation, as the server last sent it
  timeline: new Timeline(), // shown messages, by seq, with their client_ids
  outbox: null, // unacknowledged sends by client_id (below)
  streams: new Map(), // stream_id → {parts, el, bubble}: bot answers still being written
  myRead: 0, // the visitor's read seq
  agentRead: 0, // the staff's read seq (ticks)
  unreadShown: undefined, // the last count given to `unread` handlers
  suggestions: [], // quick replies before the first message
  queue: null, // position in the queue, when known
  agentsOnline: true, // false: the queue card becomes the offline form
  identity: null, // Relaydesk.identify() data
  onConv: null, // resolves a wait for the first conversation:open
};

// Sends go one at a time in the visitor's order; the policy (tries, backoff, retryable
// codes) is jslib/delivery.js's, the same as the console's.
S.outbox = new Outbox({
  send: (p) => attempt(p),
  ready: () => S.connected && !!S.conv,
  onAck: (p, ack) => addMessage(ack.message, false),
  onFail: (p) => renderPending(p),
});

export function addMessage(m, isLive) {
  if (!m || !S.conv || m.conversation_id !== S.conv.id || !S.timeline.add(m)) return;
  let quiet = false;
  const p = m.sender.kind === "visitor" && S.outbox.confirm(m.client_id);
  if (p) {
    removePending(p);
    savePending();
    quiet = true;
  }
  if (takeStream(m.client_id)) quiet = true;
  // The bot's handoff says whether anyone is online: without agents, the queue card is
  // the offline form (the bot's text asks for an email).
  if (m.sender.kind === "bot" && m.payload?.action === "handoff") setQueue(m.payload.queue);
  insertMessage(m, quiet);
  if (m.sender.kind !== "visitor") showTyping(null, false);
  if (isLive && m.sender.kind !== "visitor") {
    emitEvent("message", m);
    if (cfg.sound && (!S.open || document.hidden)) ping();
  }
  if (m.sender.kind === "agent" || S.conv.status === "assigned") renderHeader();
  renderChips();
  renderCards();
  renderPrechat();
  markRead();
  renderUnread();
}

export function setConv(c) {
  if (!c || typeof c !== "object") return;
  // An ack can carry a state older than an update that overtook it (a handoff ack after
  // the auto-assignment it triggered): the newer one wins.
  if (S.conv?.id === c.id && Date.parse(c.updated_at) < Date.parse(S.conv.updated_at)) return;
  if (S.conv && S.conv.id !== c.id) {
    // A new conversation: start a fresh log (pending sends go to the new one).
    S.timeline.clear();
    S.agentRead = 0;
    clearLog();
  }
  if (c.status !== "queued") S.queue = null;
  // The agent's turn ended (resolved, handed back, queued again): no one is typing now.
  if (S.conv && S.conv.status !== c.status) showTyping(null, false);
  if (S.conv?.id !== c.id) S.myRead = +store.get("read:" + c.id) || 0;
  S.conv = c;
  renderAll();
}

/** Queue status from a handoff ack or a bot answer's `queue` payload. */
export function setQueue(q) {
  if (!q || typeof q !== "object") return;
  S.queue = Number.isInteger(q.position) ? q.position : null;
  S.agentsOnline = q.agents_online !== false;
}

// Files not yet uploaded cannot outlive the page; sends whose files are all on the
// server can, by id.
export function savePending() {
  const list = [];
  for (const { cid, text, files } of S.outbox.values()) {
    if (!files) list.push({ cid, text });
    else if (files.every((f) => f.id)) list.push({ cid, text, files: files.map(({ id, name, type, size }) => ({ id, name, type, size })) });
  }
  store.setJson("pending", list);
}

export function restorePending() {
  for (const p of store.json("pending", [])) {
    if (p && typeof p.cid === "string" && typeof p.text === "string") {
      const q = { cid: p.cid, text: p.text, status: "sending", tries: 0 };
      if (Array.isArray(p.files)) q.files = p.files.filter((f) => f && typeof f.id === "string");
      S.outbox.items.set(q.cid, q);
      renderPending(q);
    }
  }
}
