/**
 * Durability under SIGKILL, for every backend: a child process writes accounts, settings, an
 * updateAccount counter and kv entries in a loop, printing an ack after each acknowledged write;
 * it is killed with SIGKILL mid-writes; the store is reopened and every acknowledged write must
 * be there, and the files/rows must parse. Two rounds per backend (the second starts on the
 * state the first kill left behind).
 */
import { spawn } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { createStore } from "../../src/server/store/index.js";
import type { StorageMode, Store } from "../../src/server/store/types.js";
import { createTestDatabase, createTestRedis, tempDir } from "./helpers.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, "../..");
const child = path.join(here, "fixtures/sigkill-child.ts");

interface Acks {
  accounts: number[];
  settings: number[];
  updates: number;
  kv: number[];
  lines: number;
}

/** Runs the child until it has acknowledged some writes, then SIGKILLs it mid-stream. */
function runAndKill(env: Record<string, string>, killAfterMs: number): Promise<Acks> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ["--import", "tsx", child], { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    let timer: NodeJS.Timeout | null = null;
    const guard = setTimeout(() => {
      p.kill("SIGKILL");
      reject(new Error(`child never became ready: ${err || out}`));
    }, 15_000);
    p.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      if (!timer && out.includes("ready\n")) timer = setTimeout(() => p.kill("SIGKILL"), killAfterMs);
    });
    p.stderr.on("data", (d: Buffer) => (err += d.toString()));
    p.on("exit", (code, signal) => {
      clearTimeout(guard);
      if (signal !== "SIGKILL") return reject(new Error(`child exited by itself (code ${code}): ${err}`));
      const acks: Acks = { accounts: [], settings: [], updates: 0, kv: [], lines: 0 };
      // only complete lines count: a torn last line was not acknowledged to us
      for (const line of out.split("\n").slice(0, -1)) {
        const m = /^ack (\w+) (\d+)$/.exec(line);
        if (!m) continue;
        acks.lines++;
        const n = Number(m[2]);
        if (m[1] === "account") acks.accounts.push(n);
        else if (m[1] === "settings") acks.settings.push(n);
        else if (m[1] === "update") acks.updates = n;
        else if (m[1] === "kv") acks.kv.push(n);
      }
      resolve(acks);
    });
  });
}

async function verify(store: Store, round: number, acks: Acks): Promise<void> {
  const accounts = await store.listAccounts();
  const tokens = new Set(accounts.map((a) => a.token));
  for (const i of acks.accounts) expect(tokens.has(`eyJ.kill.r${round}.${i}`), `acknowledged account ${i} of round ${round}`).toBe(true);
  for (const a of accounts) expect(typeof a.token === "string" && typeof a.createdAt === "number").toBe(true);
  const lastSettings = acks.settings.at(-1);
  const settings = await store.getSettings();
  if (lastSettings !== undefined) {
    expect(settings.global!.round).toBe(String(round));
    // the newest stored value is the last acknowledged one or the one in flight at the kill
    expect(Number(settings.global!.counter)).toBeGreaterThanOrEqual(lastSettings);
  }
  const counter = accounts.find((a) => a.token === `eyJ.kill.r${round}.counter`)!;
  expect(counter.useCount).toBeGreaterThanOrEqual(acks.updates);
  expect(counter.useCount).toBeLessThanOrEqual(acks.updates + 1);
  for (const i of acks.kv) expect(await store.kvGet(`kill:${round}:${i}`)).toBe(String(i));
}

describe("durability under SIGKILL", () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });

  async function rounds(mode: StorageMode, env: Record<string, string>, open: () => Promise<Store>, afterKill?: () => Promise<void>): Promise<void> {
    for (const round of [1, 2]) {
      const acks = await runAndKill({ ...env, G2A_MODE: mode, G2A_ROUND: String(round) }, 250 + Math.floor(Math.random() * 250));
      expect(acks.accounts.length, "the child acknowledged writes before the kill").toBeGreaterThan(0);
      await afterKill?.();
      const store = await open();
      await store.init();
      try {
        expect(store.problems ?? []).toEqual([]);
        await verify(store, round, acks);
      } finally {
        await store.close();
      }
    }
  }

  it("file", async () => {
    const tmp = await tempDir();
    cleanups.push(tmp.remove);
    await rounds(
      "file",
      { G2A_DIR: tmp.dir },
      () => createStore({ mode: "file", dataDir: tmp.dir }),
      async () => {
        // whatever the kill left, the three files are complete JSON documents
        for (const f of ["accounts.json", "settings.json", "kv.json"]) JSON.parse(await readFile(path.join(tmp.dir, f), "utf8"));
      },
    );
    expect((await readdir(tmp.dir)).filter((f) => f.includes(".tmp-") || f.includes(".corrupt-"))).toEqual([]);
  });

  it("mysql", async () => {
    const db = await createTestDatabase();
    cleanups.push(() => db.drop());
    await rounds("mysql", { G2A_URL: db.url }, () => createStore({ mode: "mysql", dataDir: "", databaseUrl: db.url }), async () => {
      const c = await db.conn();
      const [rows] = await c.query("SELECT record FROM g2a_accounts");
      for (const r of rows as { record: string }[]) JSON.parse(r.record);
      await c.end();
    });
  });

  it("redis", async () => {
    const r = await createTestRedis();
    cleanups.push(() => r.cleanup());
    await rounds("redis", { G2A_URL: r.url, G2A_PREFIX: r.prefix }, () => createStore({ mode: "redis", dataDir: "", databaseUrl: r.url, keyPrefix: r.prefix }), async () => {
      for (const v of Object.values(await r.client.hgetall(`${r.prefix}accounts`))) JSON.parse(v);
    });
  });
});
