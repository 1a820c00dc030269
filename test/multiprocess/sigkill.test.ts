/**
 * Crash durability at the server level, for file, MySQL and Redis: a real `grok2api serve` child
 * takes admin writes in a loop (token batches through POST /api/tokens/add, settings through
 * POST /api/settings with an increasing grok_config.note_counter), each write counted only when
 * the server acknowledged it (HTTP 200, success true). After a random 0.5–1.5 s of writes the
 * child is SIGKILLed mid-stream, a new server starts on the same data, and every acknowledged
 * token must be listed, the counter must be the last acknowledged value (or the one in flight),
 * and the data must load cleanly (/health 200, no `problems`, files parse). Two rounds per
 * backend; the second round writes into (and kills) the server that verified the first.
 */
import { readdir } from "node:fs/promises";
import { afterAll, describe, it, type ExpectStatic } from "vitest";
import { startFakeGrok, type FakeGrok } from "../fake-grok/index.js";
import { Admin, createStorage, http, killAllChildren, sleep, spawnServer, type Backend, type ServerChild, type Storage } from "./helpers.js";

afterAll(killAllChildren);

interface RoundResult {
  tokens: string[];
  tokenBatches: number;
  lastCounter: number;
  settingsWrites: number;
  failedAfterKill: number;
}

const BATCH = 3;
const TOKEN_WRITERS = 2;

/**
 * Drives writes against `server` until it is killed after `killAfterMs`; returns what it acknowledged.
 * `counter` is the first note_counter value to write.
 */
async function writeUntilKilled(expect: ExpectStatic, server: ServerChild, fake: FakeGrok, round: number, counter: number, killAfterMs: number): Promise<RoundResult> {
  const admin = await Admin.login(server.url);
  const result: RoundResult = { tokens: [], tokenBatches: 0, lastCounter: -1, settingsWrites: 0, failedAfterKill: 0 };
  let killed = false;
  const failed = (err: unknown) => {
    // a write that fails before the kill is a real failure; after it, an in-flight write cut off by the kill
    if (!killed) throw err;
    result.failedAfterKill++;
  };

  const tokenWriter = async () => {
    while (!killed) {
      const batch = Array.from({ length: BATCH }, () => fake.addAccount().sso);
      try {
        const r = await admin.addTokens(batch);
        if (r.status === 200 && r.body.success === true) {
          expect(r.body.added).toBe(BATCH);
          result.tokens.push(...batch);
          result.tokenBatches++;
        } else if (!killed) throw new Error(`tokens/add answered ${r.status} ${JSON.stringify(r.body)}`);
      } catch (err) {
        failed(err);
      }
    }
  };
  const settingsWriter = async () => {
    for (let n = counter; !killed; n++) {
      try {
        const r = await admin.post("/api/settings", { grok_config: { note_counter: n, note_round: round } });
        if (r.status === 200 && r.body.success === true) {
          result.lastCounter = n;
          result.settingsWrites++;
        } else if (!killed) throw new Error(`settings answered ${r.status} ${JSON.stringify(r.body)}`);
      } catch (err) {
        failed(err);
      }
    }
  };

  const writers = [...Array.from({ length: TOKEN_WRITERS }, tokenWriter), settingsWriter()];
  await sleep(killAfterMs);
  // from here on a write may fail (it was cut off: not acknowledged); every answer that still
  // arrives with success true was acknowledged by the server and counts like the others
  killed = true;
  const how = await server.kill("SIGKILL");
  await Promise.all(writers);
  expect(how.signal, `the server died of the SIGKILL, not by itself:\n${server.output()}`).toBe("SIGKILL");
  return result;
}

/** File mode: no data file was moved aside as corrupt. */
async function noCorruptFiles(expect: ExpectStatic, storage: Storage): Promise<void> {
  expect((await readdir(storage.dataDir)).filter((f) => f.includes(".corrupt-"))).toEqual([]);
}

// The three backends run side by side (independent data, own fake grok.com each).
describe.concurrent.each(["file", "mysql", "redis"] as const)("SIGKILL of a server process mid-writes, %s storage", (backend: Backend) => {
  let fake: FakeGrok | undefined;
  let storage: Storage | undefined;
  const servers: ServerChild[] = [];

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.kill()));
    await fake?.close();
    await storage?.cleanup();
  });

  it("two rounds: every acknowledged token and setting survives, the data loads cleanly", async ({ expect }) => {
    fake = await startFakeGrok();
    storage = await createStorage(backend);
    const start = async (label: string) => {
      const s = await spawnServer({ label: `${backend} ${label}`, storage: storage!, upstreamUrl: fake!.url, assetsUrl: fake!.assetsUrl });
      servers.push(s);
      return s;
    };

    let server = await start("writer 1");
    const acknowledged: string[] = [];
    let counter = 1;
    for (const round of [1, 2]) {
      const killAfterMs = 500 + Math.floor(Math.random() * 1000);
      const r = await writeUntilKilled(expect, server, fake, round, counter, killAfterMs);
      expect(r.tokenBatches, "token batches acknowledged before the kill").toBeGreaterThan(0);
      expect(r.settingsWrites, "settings writes acknowledged before the kill").toBeGreaterThan(0);
      acknowledged.push(...r.tokens);
      await storage.raw(); // whatever the kill left parses (files / rows / hash values)

      const t0 = Date.now();
      server = await start(`after kill ${round}`);
      const restartMs = Date.now() - t0;
      const health = await http(`${server.url}/health`);
      expect(health.status).toBe(200);
      expect(health.body).toMatchObject({ status: "ok", storage: backend, problems: [] });

      const admin = await Admin.login(server.url);
      const listed = new Set((await admin.tokens()).map((t) => t.token));
      const missing = acknowledged.filter((t) => !listed.has(t));
      expect(missing, `acknowledged tokens missing after the kill in round ${round}`).toEqual([]);
      // nothing but what was written: at most the batches in flight at each kill on top
      expect(listed.size).toBeLessThanOrEqual(acknowledged.length + round * TOKEN_WRITERS * BATCH);
      expect(health.body.accounts.total).toBe(listed.size);

      const settings = await admin.settings();
      const stored = Number(settings.grok.note_counter);
      expect(stored, "the last acknowledged note_counter (or the one in flight at the kill)").toBeGreaterThanOrEqual(r.lastCounter);
      expect(stored).toBeLessThanOrEqual(r.lastCounter + 1);
      expect(settings.grok.note_round).toBe(round);
      expect(settings.grok.stream_chunk_timeout).toBe(120); // the known settings still validate with their defaults

      if (backend === "file") await noCorruptFiles(expect, storage);
      // the stored data itself (read around the server) parses and matches what the server shows
      const raw = await storage.raw();
      expect(new Set(raw.accounts.map((a) => a.token))).toEqual(listed);
      expect(Number(raw.settings.grok!.note_counter)).toBe(stored);

      console.log(
        `[sigkill ${backend} round ${round}] killed after ${killAfterMs} ms: ${r.tokenBatches} token batches (${r.tokens.length} tokens) and ` +
          `${r.settingsWrites} settings writes acknowledged, ${r.failedAfterKill} cut off; restart ${restartMs} ms; ` +
          `${listed.size} tokens listed, note_counter ${stored} (last ack ${r.lastCounter})`,
      );
      counter = stored + 1;
    }
  }, 45_000);
});
