// The shared delivery module against docs/protocol.md: retries keep the client_id,
// server_busy backs off and retries, messages dedupe by seq and client_id, sync follows a
// reconnect, and sends keep the writer's order.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Outbox, POLICY, Timeline, ackCall, backoff, isRetryable, newClientId, syncFrom } from "../delivery.js";

const busy = { ok: false, error: { code: "server_busy", message: "busy" } };
const sent = (cid, seq) => ({ ok: true, message: { seq, client_id: cid } });

function harness(answers) {
  const attempts = [];
  const slept = [];
  const acked = [];
  const failed = [];
  let connected = true;
  const box = new Outbox({
    send: async (item) => {
      attempts.push(item.cid);
      const a = answers.shift();
      return typeof a === "function" ? a(item) : a;
    },
    ready: () => connected,
    onAck: (item, ack) => acked.push([item.cid, ack.message.seq]),
    onFail: (item) => failed.push(item.cid),
    sleep: async (ms) => void slept.push(ms),
  });
  return { box, attempts, slept, acked, failed, setConnected: (v) => (connected = v) };
}

test("a timed-out send is retried with the same client_id", async () => {
  const h = harness([null, { ok: false, error: { code: "timeout" } }, sent("a", 1)]);
  h.box.add({ cid: "a", text: "hi" });
  await h.box.flush();
  await waitFor(() => h.acked.length === 1);
  assert.deepEqual(h.attempts, ["a", "a", "a"]);
  assert.deepEqual(h.acked, [["a", 1]]);
  assert.equal(h.box.size, 0);
});

test("server_busy is retryable, with exponential backoff", async () => {
  const h = harness([busy, busy, busy, sent("a", 7)]);
  h.box.add({ cid: "a" });
  await waitFor(() => h.acked.length === 1);
  assert.deepEqual(h.slept, [backoff(1), backoff(2), backoff(3)]);
  assert.deepEqual(h.slept, [1000, 2000, 4000]);
});

test("gives up after POLICY.tries and can be retried by hand with the same client_id", async () => {
  const h = harness(Array(POLICY.tries).fill(busy).concat([sent("a", 3)]));
  const item = h.box.add({ cid: "a" });
  await waitFor(() => h.failed.length === 1);
  assert.equal(h.attempts.length, POLICY.tries);
  assert.equal(item.status, "failed");
  assert.equal(item.error.code, "server_busy");
  h.box.retry("a");
  await waitFor(() => h.acked.length === 1);
  assert.deepEqual([...new Set(h.attempts)], ["a"]);
});

test("other errors fail at once", async () => {
  const h = harness([{ ok: false, error: { code: "text_too_long" } }]);
  h.box.add({ cid: "a" });
  await waitFor(() => h.failed.length === 1);
  assert.equal(h.attempts.length, 1);
  assert.ok(!isRetryable({ ok: false, error: { code: "attachment_too_large" } }));
  assert.ok(isRetryable(null) && isRetryable({ ok: false, error: { code: "rate_limited" } }));
});

test("sends go out one at a time, in the writer's order, even when the first is retried", async () => {
  const h = harness([busy, sent("a", 1), sent("b", 2), sent("c", 3)]);
  h.box.add({ cid: "a" });
  h.box.add({ cid: "b" });
  h.box.add({ cid: "c" });
  await waitFor(() => h.acked.length === 3);
  assert.deepEqual(h.attempts, ["a", "a", "b", "c"]);
  assert.deepEqual(h.acked.map(([, seq]) => seq), [1, 2, 3]);
});

test("a send lost with the connection waits for the reconnect, then goes with the same client_id", async () => {
  const h = harness([
    () => {
      h.setConnected(false);
      return null;
    },
    sent("a", 5),
  ]);
  h.box.add({ cid: "a" });
  await waitFor(() => !h.box.flushing);
  assert.equal(h.box.get("a").status, "sending");
  assert.equal(h.failed.length, 0);
  h.setConnected(true);
  await h.box.flush();
  assert.deepEqual(h.attempts, ["a", "a"]);
  assert.deepEqual(h.acked, [["a", 5]]);
});

test("a message seen live before its ack stops the retries", async () => {
  const h = harness([
    (item) => {
      h.box.confirm(item.cid); // message:new with our client_id arrived first
      return busy;
    },
  ]);
  h.box.add({ cid: "a" });
  await waitFor(() => !h.box.flushing);
  assert.equal(h.attempts.length, 1);
  assert.equal(h.box.size, 0);
  assert.equal(h.failed.length, 0);
});

test("the timeline drops a seq it holds and keeps seq order", () => {
  const tl = new Timeline();
  assert.ok(tl.add({ seq: 2, client_id: "b" }));
  assert.ok(tl.add({ seq: 1, client_id: "a" }));
  assert.ok(!tl.add({ seq: 2, client_id: "b" }), "a resend's duplicate ack is not shown twice");
  assert.ok(!tl.add({ seq: "3" }));
  assert.equal(tl.size, 2);
  assert.equal(tl.lastSeq, 2);
  assert.ok(tl.hasClientId("a"));
  assert.equal(tl.before(2), 1);
  assert.equal(tl.before(1), null);
});

test("sync pages from the last seq until a short page", async () => {
  const server = Array.from({ length: 1203 }, (_, i) => ({ seq: i + 1 }));
  const calls = [];
  const call = async (event, body) => {
    calls.push([event, body.after_seq]);
    return { ok: true, messages: server.filter((m) => m.seq > body.after_seq).slice(0, POLICY.syncPage) };
  };
  const tl = new Timeline();
  tl.add({ seq: 1 });
  tl.add({ seq: 2 });
  const done = await syncFrom(call, "c1", tl.lastSeq, (m) => tl.add(m));
  assert.ok(done);
  assert.deepEqual(calls, [["sync", 2], ["sync", 502], ["sync", 1002]]);
  assert.equal(tl.size, 1203);
  assert.equal(tl.lastSeq, 1203);
});

test("sync reports a failed call", async () => {
  assert.equal(await syncFrom(async () => null, "c1", 0, () => {}), false);
});

test("ackCall turns a missing ack into a timeout error ack", async () => {
  const socket = (answer) => ({ timeout: () => ({ emitWithAck: answer }) });
  assert.deepEqual(await ackCall(socket(async () => ({ ok: true })), "x", {}), { ok: true });
  const ack = await ackCall(socket(async () => Promise.reject(new Error("timeout"))), "x", {}, { message: "no answer" });
  assert.deepEqual(ack, { ok: false, error: { code: "timeout", message: "no answer" } });
});

test("client ids are unique and fit the protocol", () => {
  const ids = new Set(Array.from({ length: 1000 }, () => newClientId("w")));
  assert.equal(ids.size, 1000);
  for (const id of ids) assert.match(id, /^[A-Za-z0-9_.:-]{1,64}$/);
});

async function waitFor(cond) {
  for (let i = 0; i < 1000 && !cond(); i++) await new Promise((r) => setImmediate(r));
  assert.ok(cond(), "condition never became true");
}
