/**
 * Admission through the HTTP surface (fake grok.com + the real server in this process): a burst
 * larger than the slots is served without 429s, waiters are served in arrival order, a wait ends
 * with 429 + Retry-After at queue_timeout, a client that leaves is out of the queue at once, the
 * depth cap answers 429 at once, and /api/stats shows the queue. A slot is held by a stream the
 * fake stalls after its first token ("stalled-after-first") until the test lets go of it.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startStack, waitFor, type Stack } from "../support/stack.js";

let stack: Stack;
let admin: string;
beforeAll(async () => {
  stack = await startStack({ accounts: 1, transport: "fetch", settings: { chat_transport: "rest", account_concurrency: 1, queue_timeout: 30, queue_max_depth: 100 } });
  admin = await stack.adminToken();
});
afterAll(async () => stack?.close());

interface QueueView {
  depth: number;
  queued: number;
  granted: number;
  timed_out: number;
  aborted: number;
  rejected_full: number;
  wait_ms: { samples: number; p50: number | null; max: number | null };
  queues: Array<{ tier: string; bucket: string; depth: number }>;
}
async function stats(): Promise<{ in_flight: number; queue: QueueView }> {
  const r = await fetch(`${stack.url}/api/stats`, { headers: { authorization: `Bearer ${admin}` } });
  return ((await r.json()) as { data: { in_flight: number; queue: QueueView } }).data;
}
const depth = async () => (await stats()).queue.depth;

const body = (prompt: string, stream = false) => JSON.stringify({ model: "grok-chat-fast", messages: [{ role: "user", content: prompt }], stream });
const chat = (prompt: string, signal?: AbortSignal) =>
  fetch(`${stack.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: body(prompt), ...(signal ? { signal } : {}) });

/** A stream holding the only slot until `release()` (the fake stalls after its first token). */
async function holdSlot(): Promise<{ release: () => Promise<void> }> {
  stack.fake.queue("*", "stalled-after-first");
  const ctrl = new AbortController();
  const res = await fetch(`${stack.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: body("holder", true), signal: ctrl.signal });
  expect(res.status).toBe(200);
  const reader = res.body!.getReader();
  await reader.read(); // output began: the slot is held
  return {
    release: async () => {
      ctrl.abort();
      await reader.cancel().catch(() => {});
      await waitFor(async () => (await stats()).in_flight === 0 || (await depth()) > 0);
    },
  };
}
const prompts = () => stack.fake.chatRequests().map((r) => String((r.body as { message?: string })?.message ?? ""));

beforeEach(async () => {
  await stack.server.deps.settings.update({ grok: { account_concurrency: 1, queue_timeout: 30, queue_max_depth: 100 } });
  stack.fake.reset();
  await waitFor(async () => (await stats()).in_flight === 0);
});

describe("admission over HTTP", () => {
  it("a burst larger than the slots is answered in full, never more turns at once than the cap", async () => {
    const a2 = await stack.addAccount();
    try {
      await stack.server.deps.settings.update({ grok: { account_concurrency: 2 } });
      stack.fake.setDefault({ name: "slow", delayMs: 5, text: "one two three four five" });
      let maxOpen = 0;
      const sampler = setInterval(() => (maxOpen = Math.max(maxOpen, stack.fake.openConnections())), 1);
      const results = await Promise.all(Array.from({ length: 16 }, (_, i) => chat(`burst ${i}`).then(async (r) => ({ status: r.status, body: (await r.json()) as { choices?: Array<{ message: { content: string } }> } }))));
      clearInterval(sampler);
      expect(results.map((r) => r.status)).toEqual(Array(16).fill(200));
      expect(results.every((r) => r.body.choices?.[0]?.message.content === "one two three four five")).toBe(true);
      expect(maxOpen).toBeLessThanOrEqual(4); // 2 accounts × account_concurrency 2
      const s = await stats();
      expect(s.queue.depth).toBe(0);
      expect(s.queue.queued).toBeGreaterThan(0);
      expect(s.queue.granted).toBe(s.queue.queued);
      expect(s.queue.wait_ms.samples).toBeGreaterThan(0);
      expect(s.in_flight).toBe(0);
      expect(stack.server.deps.pool.leakCheck()).toBe(0);
    } finally {
      await stack.server.deps.pool.remove([a2.sso]);
      stack.accounts.pop();
    }
  });

  it("waiters are served in the order they arrived", async () => {
    const hold = await holdSlot();
    const pending: Array<Promise<Response>> = [];
    for (let i = 1; i <= 3; i++) {
      pending.push(chat(`queued ${i}`));
      await waitFor(async () => (await depth()) === i);
    }
    expect((await stats()).queue.queues).toEqual([{ tier: "basic", bucket: "fast", depth: 3, oldest_wait_ms: expect.any(Number) }]);
    await hold.release();
    const answers = await Promise.all(pending);
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(prompts().filter((p) => p.includes("queued")).map((p) => /queued (\d)/.exec(p)![1])).toEqual(["1", "2", "3"]);
  });

  it("a wait longer than queue_timeout ends in 429 with Retry-After (OpenAI and Anthropic shapes)", async () => {
    await stack.server.deps.settings.update({ grok: { queue_timeout: 0.5 } });
    const hold = await holdSlot();
    try {
      const r = await chat("will time out");
      expect(r.status).toBe(429);
      const retryAfter = Number(r.headers.get("retry-after"));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      const err = ((await r.json()) as { error: { message: string; code: string } }).error;
      expect(err.message).toMatch(/busy/);
      expect(err.message).toMatch(/queue_timeout/);

      const a = await fetch(`${stack.url}/v1/messages`, {
        method: "POST",
        headers: { "content-type": "application/json", "anthropic-version": "2023-06-01" },
        body: JSON.stringify({ model: "claude-haiku-4-5", max_tokens: 50, messages: [{ role: "user", content: "also times out" }] }),
      });
      expect(a.status).toBe(429);
      expect(((await a.json()) as { error: { type: string } }).error.type).toBe("rate_limit_error");
      expect((await stats()).queue.timed_out).toBeGreaterThanOrEqual(2);
      expect(prompts().some((p) => p.includes("time out"))).toBe(false); // never reached grok.com
    } finally {
      await hold.release();
    }
  });

  it("a client that goes away while queued leaves the queue at once and never reaches grok.com", async () => {
    const hold = await holdSlot();
    const ctrl = new AbortController();
    const gone = chat("leaves early", ctrl.signal).catch((e: unknown) => e);
    await waitFor(async () => (await depth()) === 1);
    const next = chat("stays");
    await waitFor(async () => (await depth()) === 2);
    ctrl.abort();
    expect(await gone).toBeInstanceOf(Error);
    await waitFor(async () => (await depth()) === 1);
    expect((await stats()).queue.aborted).toBeGreaterThanOrEqual(1);
    await hold.release();
    expect((await next).status).toBe(200);
    expect(prompts().some((p) => p.includes("leaves early"))).toBe(false);
    await waitFor(async () => (await stats()).in_flight === 0);
    expect(stack.server.deps.pool.leakCheck()).toBe(0);
  });

  it("beyond queue_max_depth waiting requests the answer is 429 at once", async () => {
    await stack.server.deps.settings.update({ grok: { queue_max_depth: 1 } });
    const hold = await holdSlot();
    const first = chat("waits");
    await waitFor(async () => (await depth()) === 1);
    const r = await chat("no room");
    expect(r.status).toBe(429);
    expect(Number(r.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(((await r.json()) as { error: { message: string } }).error.message).toMatch(/queue_max_depth 1/);
    expect((await stats()).queue.rejected_full).toBeGreaterThanOrEqual(1);
    await hold.release();
    expect((await first).status).toBe(200);
  });

  it("queue_timeout 0 keeps the old answer: 429 busy at once", async () => {
    await stack.server.deps.settings.update({ grok: { queue_timeout: 0 } });
    const hold = await holdSlot();
    try {
      const queuedBefore = (await stats()).queue.queued;
      const r = await chat("busy now");
      expect(r.status).toBe(429);
      expect(((await r.json()) as { error: { message: string } }).error.message).toMatch(/busy/);
      expect((await stats()).queue.queued).toBe(queuedBefore); // it never waited
    } finally {
      await hold.release();
    }
  });
});
