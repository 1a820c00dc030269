/**
 * Two real server processes (A and B) on one shared store (MySQL, then Redis) in front of one
 * fake grok.com. Whatever one process learns or decides must hold in the other:
 * - accounts and settings written through A show up in B (and a later write through B keeps A's);
 * - settings written through A and B at the same moment all survive, and both processes end up
 *   holding exactly the stored settings;
 * - an admin session is one session for both processes;
 * - an account A found dead is never tried by B (403 without a grok.com turn);
 * - a rate limit A hit makes B answer 429 at once, without a grok.com turn;
 * - the per-account concurrency cap is one cap across both processes: while A holds the only
 *   slot B answers 429 "busy" (with queue_timeout 0: no waiting; admission.test.ts has the
 *   queue across processes), and the fake never has two turns of the account open at once.
 */
import { isDeepStrictEqual } from "node:util";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startFakeGrok, type FakeAccount, type FakeGrok } from "../fake-grok/index.js";
import { Admin, chat, createStorage, eventually, http, killAllChildren, spawnServer, type ServerChild, type Storage, type TokenRow } from "./helpers.js";

afterAll(killAllChildren);

/** Fields that must be identical in both processes as soon as B lists the account. */
const STABLE: (keyof TokenRow)[] = ["token", "token_type", "created_time", "tier", "tier_source", "tags", "note", "state", "status_reason"];
const stable = (row: TokenRow | undefined) => (row ? Object.fromEntries(STABLE.map((k) => [k, row[k]])) : undefined);

describe.each(["mysql", "redis"] as const)("two server processes sharing one %s store", (backend) => {
  let fake: FakeGrok;
  let storage: Storage;
  let a: ServerChild;
  let b: ServerChild;
  let adminA: Admin;
  let adminB: Admin;

  beforeAll(async () => {
    fake = await startFakeGrok();
    storage = await createStorage(backend);
    const spawnOne = (label: string) => spawnServer({ label: `${backend} ${label}`, storage, upstreamUrl: fake.url, assetsUrl: fake.assetsUrl });
    // both start at once on the empty store: migrations, default settings and the admin password race here too
    [a, b] = await Promise.all([spawnOne("A"), spawnOne("B")]);
    [adminA, adminB] = await Promise.all([Admin.login(a.url), Admin.login(b.url)]);
  }, 40_000);

  afterAll(async () => {
    await Promise.all([a?.kill(), b?.kill()]);
    await fake?.close();
    await storage?.cleanup();
  });

  beforeEach(async () => {
    // every test starts from an empty pool (addThroughA waits until B has caught up with that too)
    const tokens = (await adminA.tokens()).map((t) => t.token);
    if (tokens.length) expect((await adminA.post("/api/tokens/delete", { tokens })).status).toBe(200);
    fake.reset();
  });

  /**
   * Adds a fresh fake account through A; waits until it is the only account both processes list,
   * both have synced its quota, and they agree on every field.
   *
   * Each process syncs the quota of an account it has never seen synced at its next scheduler
   * tick (≤ 1 s after it learnt of the account: at once in A, after the change feed in B). The
   * wait also lets those first syncs finish (no quota request for the account for a while, the
   * feed delay + a tick past the add), so a late one cannot land in the middle of a test.
   */
  async function addThroughA(): Promise<FakeAccount> {
    const acc = fake.addAccount();
    const addedAt = Date.now();
    const r = await adminA.addTokens([acc.sso]);
    expect([r.status, r.body.success, r.body.added]).toEqual([200, true, 1]);
    const settleMs = backend === "mysql" ? 2_600 : 1_400;
    await eventually(`A and B list only the new account, synced and identical (${backend})`, async () => {
      const now = Date.now();
      const lastCall = Math.max(0, ...fake.requests.filter((q) => q.account === acc.sso).map((q) => q.at));
      if (now - addedAt < settleMs || now - lastCall < 250) return false;
      const [la, lb] = await Promise.all([adminA.tokens(), adminB.tokens()]);
      return la.length === 1 && la[0]!.token === acc.sso && la[0]!.quota.fast !== undefined && isDeepStrictEqual(la, lb);
    }, 10_000);
    return acc;
  }

  const dump = () => `\n--- A output ---\n${a.output()}\n--- B output ---\n${b.output()}`;

  it("an account added through A appears in B's /api/tokens with the same fields; a note/tags edit follows", async () => {
    const acc = fake.addAccount();
    const added = await adminA.addTokens([acc.sso]);
    expect([added.status, added.body.success, added.body.added, added.body.existing]).toEqual([200, true, 1, 0]);
    const t0 = Date.now();
    const onB = await eventually("B lists the account added through A", () => adminB.token(acc.sso), 5_000, 25);
    const seenAfterMs = Date.now() - t0;
    const onA = (await adminA.token(acc.sso))!;
    expect(stable(onB)).toEqual(stable(onA));
    expect(onB).toMatchObject({ token: acc.sso, token_type: "sso", tier: "basic", tier_source: "imported", state: "active" });
    expect(seenAfterMs).toBeLessThan(5_000);

    // adding it again through B is recognised as existing (no second record, creation time kept)
    const again = await adminB.addTokens([acc.sso]);
    expect([again.status, again.body.added, again.body.existing]).toEqual([200, 0, 1]);

    const note = await adminA.post("/api/tokens/note", { token: acc.sso, note: `note from A (${backend})` });
    const tags = await adminA.post("/api/tokens/tags", { token: acc.sso, tags: ["mp", backend] });
    expect([note.status, tags.status]).toEqual([200, 200]);
    await eventually("B shows A's note and tags", async () => {
      const row = await adminB.token(acc.sso);
      return row?.note === `note from A (${backend})` && isDeepStrictEqual(row.tags, ["mp", backend]);
    });
    // both processes converge on the very same row (quota syncs of A and B included)
    await eventually("A and B show identical rows", async () => {
      const [ra, rb] = await Promise.all([adminA.token(acc.sso), adminB.token(acc.sso)]);
      return ra !== undefined && isDeepStrictEqual(ra, rb);
    });
    expect((await adminB.tokens()).filter((t) => t.token === acc.sso)).toHaveLength(1);
    expect(onA.created_time).toBe((await adminB.token(acc.sso))!.created_time);
  });

  it("a settings change posted to A is visible in B's GET /api/settings; a later write through B keeps it", async () => {
    const marker = `mp-${backend}-${Date.now()}`;
    await adminA.setGrok({ stream_chunk_timeout: 77, mp_marker: marker });
    const t0 = Date.now();
    await eventually("B's settings show A's change", async () => {
      const s = await adminB.settings();
      return s.grok.stream_chunk_timeout === 77 && s.grok.mp_marker === marker;
    }, 5_000, 25);
    expect(Date.now() - t0).toBeLessThan(5_000);

    // B writes another key: it must build on A's values (no lost update of stream_chunk_timeout / the unknown key)
    await adminB.setGrok({ stream_first_response_timeout: 31 });
    await eventually("A sees B's change with its own values intact", async () => {
      const s = await adminA.settings();
      return s.grok.stream_first_response_timeout === 31 && s.grok.stream_chunk_timeout === 77 && s.grok.mp_marker === marker;
    });
    const sb = await adminB.settings();
    expect([sb.grok.stream_chunk_timeout, sb.grok.stream_first_response_timeout, sb.grok.mp_marker]).toEqual([77, 31, marker]);
    await adminA.setGrok({ stream_chunk_timeout: 120, stream_first_response_timeout: 30 });
  });

  it("simultaneous settings writes through A and B (different keys) all survive, and both processes end up with the stored settings", async () => {
    // Six rounds; in each, A and B write one new key each at the same moment. A lost write or a
    // process left holding settings that differ from the store fails the test.
    const tag = `c${Date.now().toString(36)}`;
    const keys: string[] = [];
    for (let i = 0; i < 6; i++) {
      keys.push(`${tag}_a${i}`, `${tag}_b${i}`);
      await Promise.all([adminA.setGrok({ [`${tag}_a${i}`]: i }), adminB.setGrok({ [`${tag}_b${i}`]: i })]);
    }
    const state = async () => {
      const stored = (await storage.raw()).settings.grok ?? {};
      const [sa, sb] = await Promise.all([adminA.settings(), adminB.settings()]);
      return {
        lostInStore: keys.filter((k) => stored[k] === undefined),
        aDiffersFromStore: keys.filter((k) => sa.grok[k] !== stored[k]),
        bDiffersFromStore: keys.filter((k) => sb.grok[k] !== stored[k]),
      };
    };
    const settled = { lostInStore: [], aDiffersFromStore: [], bDiffersFromStore: [] };
    let last = await state();
    for (const end = Date.now() + 4_000; !isDeepStrictEqual(last, settled) && Date.now() < end; ) {
      await new Promise((r) => setTimeout(r, 100));
      last = await state();
    }
    expect(last).toEqual(settled);
  });

  it("an admin session opened on A is valid on B, and a logout through B ends it on A", async () => {
    const session = await Admin.login(a.url);
    const onB = await http(`${b.url}/api/tokens`, { token: session.session });
    expect(onB.status).toBe(200);
    const out = await http(`${b.url}/api/logout`, { token: session.session, body: {} });
    expect([out.status, out.body.success]).toEqual([200, true]);
    const onA = await http(`${a.url}/api/tokens`, { token: session.session });
    expect(onA.status).toBe(401);
  });

  it("an account A found dead (401) is never tried by B: B answers 403 without a grok.com turn", async () => {
    const acc = await addThroughA();
    fake.queue(acc.sso, "http-401");
    const before = fake.chatRequests().length;
    const ra = await chat(a.url);
    expect(ra.status, JSON.stringify(ra.body) + dump()).toBe(403);
    const turnsOfA = fake.chatRequests().slice(before);
    expect(turnsOfA.length).toBeGreaterThanOrEqual(1);
    expect(turnsOfA.every((t) => t.account === acc.sso)).toBe(true);
    expect((await adminA.token(acc.sso))!.state).toBe("dead");

    const dead = await eventually("B shows the account dead", async () => {
      const row = await adminB.token(acc.sso);
      return row?.state === "dead" ? row : null;
    });
    expect(dead.usable).toBe(false);
    expect(dead.status_reason).toMatch(/401|expired|logged out/i);

    const turns = fake.chatRequests().length;
    const rb = await chat(b.url);
    expect(rb.status, JSON.stringify(rb.body)).toBe(403);
    expect(rb.body.error.message).toMatch(/dead or disabled/);
    expect(fake.chatRequests().length, "B must not send a chat turn for a dead account").toBe(turns);
  });

  it("an account A got rate-limited on (429, Retry-After 120) makes B answer 429 at once, without a grok.com turn", async () => {
    const acc = await addThroughA();
    fake.queue(acc.sso, { name: "http-429", retryAfterSeconds: 120 });
    const ra = await chat(a.url);
    expect(ra.status, JSON.stringify(ra.body) + dump()).toBe(429);
    // what grok.com's quota endpoint reports while an account is limited (keeps a later quota sync from reviving it)
    fake.setQuota(acc.sso, "fast", { remaining: 0 });
    // the rate limit holds for about the Retry-After: the "fast" bucket is exhausted until then (or,
    // had the bucket been unknown, the whole account cools); `usable` may stay true (other buckets)
    const limited = (row: TokenRow | undefined) =>
      !!row &&
      ((row.quota.fast?.remaining === 0 && (row.quota.fast.resetAt ?? 0) > Date.now() + 60_000) ||
        (row.state === "cooling" && (row.cooldown_until ?? 0) > Date.now() + 60_000));
    const describeRow = (row: TokenRow) => JSON.stringify({ state: row.state, cooldown_until: row.cooldown_until, fast: row.quota.fast, now: Date.now() });
    const rowA = (await adminA.token(acc.sso))!;
    expect(limited(rowA), describeRow(rowA)).toBe(true);

    await eventually("B shows the rate limit A stored", async () => limited(await adminB.token(acc.sso)));
    const turns = fake.chatRequests().length;
    const rb = await chat(b.url);
    expect(rb.status, JSON.stringify(rb.body)).toBe(429);
    expect(rb.body.error.message).toMatch(/cooling down or out of quota/);
    expect(rb.ms, "B answers from the shared state, without waiting on grok.com").toBeLessThan(1_500);
    // the cooldown B reports is the one A stored (about 120 s), not a local default
    const retryAfter = Number(rb.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(60);
    expect(retryAfter).toBeLessThanOrEqual(121);
    expect(fake.chatRequests().length, "B must not send a chat turn for a rate-limited account").toBe(turns);
  });

  describe("account_concurrency = 1 is one cap across both processes", () => {
    let acc: FakeAccount;
    let maxOpen = 0;
    let sampler: NodeJS.Timeout | null = null;
    const startSampling = () => {
      maxOpen = 0;
      sampler = setInterval(() => (maxOpen = Math.max(maxOpen, fake.openConnections())), 2);
    };
    const stopSampling = () => {
      if (sampler) clearInterval(sampler);
      sampler = null;
      return maxOpen;
    };

    beforeEach(async () => {
      acc = await addThroughA();
      await adminA.setGrok({ account_concurrency: 1, queue_timeout: 0 });
      await eventually("B's settings show account_concurrency 1, no queue", async () => {
        const g = (await adminB.settings()).grok;
        return g.account_concurrency === 1 && g.queue_timeout === 0;
      });
      await eventually("no connection open at the fake", () => fake.openConnections() === 0);
    });

    afterAll(async () => {
      stopSampling();
      await adminA.setGrok({ account_concurrency: 4, queue_timeout: 30 });
    });

    it("while A holds the only slot (slow turn), B answers 429 busy; once A is done B is served", async () => {
      fake.queue(acc.sso, { name: "slow", delayMs: 250 });
      const before = fake.chatRequests().length;
      startSampling();
      const held = chat(a.url);
      await eventually("the fake serves A's turn", () => fake.chatRequests().length === before + 1, 5_000, 5);
      const rb = await chat(b.url);
      const stillOpen = fake.openConnections();
      const ra = await held;
      const max = stopSampling();
      expect(ra.status, JSON.stringify(ra.body) + dump()).toBe(200);
      expect(stillOpen, "A's turn was still running when B answered").toBe(1);
      expect(rb.status, JSON.stringify(rb.body)).toBe(429);
      expect(rb.body.error.message).toMatch(/busy/);
      expect(rb.ms).toBeLessThan(1_500);
      expect(fake.chatRequests().length, "B's refused request never reached grok.com").toBe(before + 1);
      expect(max, "the fake never had two turns open at once").toBe(1);

      // the slot A held is free again, for B
      await eventually("A's turn closed at the fake", () => fake.openConnections() === 0);
      const rb2 = await chat(b.url);
      expect(rb2.status, JSON.stringify(rb2.body) + dump()).toBe(200);
      expect(fake.chatRequests().length).toBe(before + 2);
      expect(fake.chatRequests().slice(before).every((t) => t.account === acc.sso)).toBe(true);
    });

    it("a simultaneous burst through both processes: exactly one request is served, the rest answer 429 busy", async () => {
      fake.queue(acc.sso, { name: "slow", delayMs: 250 });
      const before = fake.chatRequests().length;
      startSampling();
      const urls = [a.url, b.url, a.url, b.url, a.url, b.url, a.url, b.url];
      const results = await Promise.all(urls.map((u) => chat(u)));
      const max = stopSampling();
      const ok = results.filter((r) => r.status === 200);
      const busy = results.filter((r) => r.status === 429 && /busy/.test(r.body?.error?.message ?? ""));
      expect(ok.length, JSON.stringify(results.map((r) => [r.status, r.body?.error?.message])) + dump()).toBe(1);
      expect(busy.length).toBe(urls.length - 1);
      expect(fake.chatRequests().length - before).toBe(1);
      expect(max).toBe(1);
    });
  });
});
