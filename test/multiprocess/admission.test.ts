/**
 * Admission across processes: two real server processes (A and B) on one MySQL, then Redis,
 * store, one account with account_concurrency 1 — one slot shared through the store. A request
 * that finds the slot held by the other process waits in its own process's queue and is served
 * once the other process frees the slot (found by polling the store), instead of a 429; a burst
 * through both processes is answered in full, one turn at a time; a wait longer than
 * queue_timeout ends in 429 with Retry-After.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startFakeGrok, type FakeAccount, type FakeGrok } from "../fake-grok/index.js";
import { Admin, chat, createStorage, eventually, killAllChildren, spawnServer, type ServerChild, type Storage } from "./helpers.js";

afterAll(killAllChildren);

describe.each(["mysql", "redis"] as const)("admission across two processes on one %s store", (backend) => {
  let fake: FakeGrok;
  let storage: Storage;
  let a: ServerChild;
  let b: ServerChild;
  let adminA: Admin;
  let adminB: Admin;
  let acc: FakeAccount;
  let maxOpen = 0;
  let sampler: NodeJS.Timeout | null = null;
  const sample = () => {
    maxOpen = 0;
    sampler = setInterval(() => (maxOpen = Math.max(maxOpen, fake.openConnections())), 2);
  };
  const stopSampling = () => {
    if (sampler) clearInterval(sampler);
    sampler = null;
    return maxOpen;
  };
  const dump = () => `\n--- A output ---\n${a.output()}\n--- B output ---\n${b.output()}`;
  const queueOf = async (admin: Admin) => (await admin.get("/api/stats")).body.data.queue;

  beforeAll(async () => {
    fake = await startFakeGrok();
    storage = await createStorage(backend);
    const spawnOne = (label: string) => spawnServer({ label: `${backend} ${label}`, storage, upstreamUrl: fake.url, assetsUrl: fake.assetsUrl });
    [a, b] = await Promise.all([spawnOne("A"), spawnOne("B")]);
    [adminA, adminB] = await Promise.all([Admin.login(a.url), Admin.login(b.url)]);
    acc = fake.addAccount();
    expect((await adminA.addTokens([acc.sso])).status).toBe(200);
    await adminA.setGrok({ account_concurrency: 1, queue_timeout: 20, queue_max_depth: 100 });
    await eventually("B knows the account and the settings", async () => {
      const g = (await adminB.settings()).grok;
      return g.account_concurrency === 1 && g.queue_timeout === 20 && (await adminB.tokens()).some((t) => t.token === acc.sso && t.quota.fast !== undefined);
    }, 15_000);
  }, 60_000);

  afterAll(async () => {
    stopSampling();
    await Promise.all([a?.kill(), b?.kill()]);
    await fake?.close();
    await storage?.cleanup();
  });

  beforeEach(async () => {
    await eventually("no turn open at the fake", () => fake.openConnections() === 0);
    fake.reset();
  });

  it("B waits for the slot A holds and is served once A is done (no 429)", async () => {
    fake.queue(acc.sso, { name: "slow", delayMs: 300 });
    sample();
    const held = chat(a.url);
    await eventually("the fake serves A's turn", () => fake.chatRequests().length === 1, 5_000, 5);
    const waiting = chat(b.url, { timeoutMs: 30_000 });
    await eventually("B's request waits in B's queue", async () => (await queueOf(adminB)).depth === 1, 5_000, 10);
    expect(fake.chatRequests().length, "B's turn must not start while A holds the slot").toBe(1);
    const [ra, rb] = await Promise.all([held, waiting]);
    const max = stopSampling();
    expect(ra.status, JSON.stringify(ra.body) + dump()).toBe(200);
    expect(rb.status, JSON.stringify(rb.body) + dump()).toBe(200);
    expect(fake.chatRequests().length).toBe(2);
    expect(max, "never two turns of the account at once").toBe(1);
    const q = await queueOf(adminB);
    expect(q).toMatchObject({ depth: 0, granted: expect.any(Number) });
    expect(q.granted).toBeGreaterThanOrEqual(1);
  });

  it("a burst through both processes is answered in full, one turn at a time", async () => {
    fake.setDefault({ name: "slow", delayMs: 20 });
    sample();
    const urls = [a.url, b.url, a.url, b.url, a.url, b.url];
    const results = await Promise.all(urls.map((u) => chat(u, { timeoutMs: 30_000 })));
    const max = stopSampling();
    expect(results.map((r) => r.status), JSON.stringify(results.map((r) => r.body?.error?.message)) + dump()).toEqual(urls.map(() => 200));
    expect(fake.chatRequests().length).toBe(urls.length);
    expect(max).toBe(1);
    const [qa, qb] = await Promise.all([queueOf(adminA), queueOf(adminB)]);
    expect(qa.depth + qb.depth).toBe(0);
  });

  it("a wait longer than queue_timeout while the other process holds the slot: 429 with Retry-After", async () => {
    await adminA.setGrok({ queue_timeout: 1 });
    await eventually("B's queue_timeout is 1", async () => (await adminB.settings()).grok.queue_timeout === 1);
    try {
      fake.queue(acc.sso, { name: "slow", delayMs: 1_000 });
      const held = chat(a.url, { timeoutMs: 30_000 });
      await eventually("the fake serves A's turn", () => fake.chatRequests().length === 1, 5_000, 5);
      const rb = await chat(b.url);
      expect(rb.status, JSON.stringify(rb.body) + dump()).toBe(429);
      expect(rb.body.error.message).toMatch(/queue_timeout/);
      expect(Number(rb.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      expect(fake.chatRequests().length, "B's request never reached grok.com").toBe(1);
      expect((await held).status).toBe(200);
    } finally {
      await adminA.setGrok({ queue_timeout: 20 });
    }
  });
});
