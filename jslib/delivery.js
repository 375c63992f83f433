// The delivery protocol's client side (docs/protocol.md), shared by the widget and the
// console so both follow one policy: every call resolves to an ack (a timeout becomes an
// error ack), unacknowledged sends are kept by `client_id` and sent one at a time in the
// writer's order, retried with the same `client_id` (the server returns the original),
// and after a reconnect the client `sync`s from the highest seq it holds.
// No imports: both builds bundle it, and `node --test` runs it as is.

export const POLICY = Object.freeze({
  ackMs: 8000, // how long a call waits for its ack
  tries: 5, // sends per message before the writer is offered "retry"
  backoffMs: 500, // the wait before retry n is backoffMs * 2^n (1 s, 2 s, 4 s, 8 s)
  syncPage: 500, // the server's `sync` page size
});

// Error codes that changed nothing and may succeed later with the same `client_id`.
export const RETRYABLE = new Set(["timeout", "rate_limited", "internal", "server_busy"]);

export const timeoutAck = (message = "No answer from the server") => ({ ok: false, error: { code: "timeout", message } });

export const isRetryable = (ack) => !ack || (!ack.ok && RETRYABLE.has(ack.error?.code));

/** An ack for `event`, or a `timeout` error ack when the server does not answer in time. */
export async function ackCall(socket, event, data, { timeout = POLICY.ackMs, message } = {}) {
  try {
    const ack = await socket.timeout(timeout).emitWithAck(event, data);
    return ack && typeof ack === "object" ? ack : { ok: false, error: { code: "internal", message: "Bad ack" } };
  } catch {
    return timeoutAck(message);
  }
}

export const backoff = (tries, policy = POLICY) => policy.backoffMs * 2 ** tries;

let counter = 0;
/** A fresh idempotency key: `prefix-<time>-<random>-<n>` (protocol: 1–64 of [A-Za-z0-9_.:-]). */
export function newClientId(prefix) {
  const r = globalThis.crypto.getRandomValues(new Uint32Array(2));
  return `${prefix}-${Date.now().toString(36)}-${r[0].toString(36)}${r[1].toString(36)}-${(++counter).toString(36)}`;
}

/**
 * Unacknowledged sends, keyed by `client_id` (`item.cid`). `send(item)` performs one
 * attempt and resolves to an ack (null or a retryable error when there was no answer);
 * `ready()` says whether sending can happen now (connected, conversation known).
 * `onAck(item, ack)` and `onFail(item, ack)` report the outcome; the writer may `retry`
 * a failed item (with the same `client_id`) or `drop` it. When `ready()` turns false the
 * queue stops; call `flush()` again after the reconnect.
 */
export class Outbox {
  constructor({ send, ready = () => true, onAck = () => {}, onFail = () => {}, policy = POLICY, sleep }) {
    this.items = new Map();
    this.send = send;
    this.ready = ready;
    this.onAck = onAck;
    this.onFail = onFail;
    this.policy = policy;
    this.sleep = sleep || ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.flushing = false;
  }

  get size() {
    return this.items.size;
  }

  get(cid) {
    return this.items.get(cid);
  }

  values() {
    return this.items.values();
  }

  /** Queues `item` (it must have a `cid`) and starts sending. */
  add(item) {
    item.status = "sending";
    item.tries = 0;
    item.error = null;
    this.items.set(item.cid, item);
    this.flush();
    return item;
  }

  /** Sends a failed item again, with the same `client_id`. */
  retry(cid) {
    const item = this.items.get(cid);
    if (!item) return;
    item.status = "sending";
    item.tries = 0;
    item.error = null;
    this.flush();
  }

  /** The server has the message (seen in `message:new` or `sync`): stop sending it. */
  confirm(cid) {
    const item = this.items.get(cid);
    this.items.delete(cid);
    return item || null;
  }

  drop(cid) {
    return this.confirm(cid);
  }

  next() {
    for (const item of this.items.values()) if (item.status === "sending") return item;
    return null;
  }

  async flush() {
    if (this.flushing) return;
    this.flushing = true;
    try {
      // Items added while this runs are picked up too: the next one is looked up each time.
      for (let item; (item = this.next()); ) {
        while (this.items.get(item.cid) === item && item.status === "sending") {
          if (!this.ready()) return;
          const ack = await this.send(item);
          if (ack?.ok) {
            // onAck sees the item still queued (it may `confirm` it itself), then it goes.
            this.onAck(item, ack);
            this.items.delete(item.cid);
            break;
          }
          if (this.items.get(item.cid) !== item) break; // confirmed or dropped meanwhile
          // Lost with the connection: the reconnect's flush sends it again, tries intact.
          if (!this.ready()) return;
          if (!isRetryable(ack) || ++item.tries >= this.policy.tries) {
            item.status = "failed";
            item.error = ack?.error || timeoutAck().error;
            this.onFail(item, ack);
            break;
          }
          await this.sleep(backoff(item.tries, this.policy));
        }
      }
    } finally {
      this.flushing = false;
    }
  }
}

/**
 * The messages of one conversation as shown: at most one per seq and per `client_id`,
 * in seq order. `add` says whether a message is new.
 */
export class Timeline {
  constructor() {
    this.clear();
  }

  clear() {
    this.bySeq = new Map();
    this.cids = new Set();
    this.lastSeq = 0;
  }

  get size() {
    return this.bySeq.size;
  }

  has(seq) {
    return this.bySeq.has(seq);
  }

  get(seq) {
    return this.bySeq.get(seq);
  }

  hasClientId(cid) {
    return this.cids.has(cid);
  }

  values() {
    return this.bySeq.values();
  }

  /** Keeps `m` unless its seq is already held; true when it is new. */
  add(m) {
    if (!m || !Number.isInteger(m.seq) || this.bySeq.has(m.seq)) return false;
    this.bySeq.set(m.seq, m);
    if (m.client_id) this.cids.add(m.client_id);
    if (m.seq > this.lastSeq) this.lastSeq = m.seq;
    return true;
  }

  /** The held seq just below `seq` (for inserting a message in order), or null. */
  before(seq) {
    let best = null;
    for (const s of this.bySeq.keys()) if (s < seq && (best === null || s > best)) best = s;
    return best;
  }
}

/**
 * `sync` from `afterSeq`: calls `call("sync", …)` page by page and hands each message to
 * `add`, until a page is short. Resolves true when it got to the end, false when a call
 * failed (the next reconnect syncs again).
 */
export async function syncFrom(call, conversationId, afterSeq, add, policy = POLICY) {
  let after = afterSeq;
  for (;;) {
    const ack = await call("sync", { conversation_id: conversationId, after_seq: after });
    if (!ack?.ok || !Array.isArray(ack.messages)) return false;
    for (const m of ack.messages) add(m);
    if (ack.messages.length < policy.syncPage) return true;
    after = ack.messages[ack.messages.length - 1].seq;
  }
}
