/**
 * Store write throughput per backend: putAccounts (one record per call), updateAccount and
 * kvSet, each for a fixed time, one call at a time (c=1) and with 16 calls in flight (c=16).
 *
 *   node --import tsx bench/store-write.ts [--seconds 2] [--concurrency 1,16] [--only file,mysql,redis]
 *
 * Uses the real services: MariaDB/MySQL (BENCH_MYSQL_URL, default mysql://root@127.0.0.1:3306,
 * a database of its own that is dropped afterwards) and Redis (BENCH_REDIS_URL, default
 * redis://127.0.0.1:6379, an empty database index 1–15 and a key prefix of its own, whose keys
 * are deleted afterwards). The file backend writes to a temp directory that is removed.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Redis } from "ioredis";
import mysql from "mysql2/promise";
import { newAccountRecord } from "../src/server/core/account.js";
import { createStore } from "../src/server/store/index.js";
import type { StorageMode, Store } from "../src/server/store/types.js";

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}
const SECONDS = Number(arg("seconds", "2"));
const CONCURRENCY = arg("concurrency", "1,16").split(",").map(Number);
const ONLY = arg("only", "file,mysql,redis").split(",") as StorageMode[];
const MYSQL_URL = (process.env.BENCH_MYSQL_URL ?? "mysql://root@127.0.0.1:3306").replace(/\/+$/, "");
const REDIS_URL = (process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379").replace(/\/\d*$/, "");
const tag = `g2a_bench_${process.pid}_${randomBytes(3).toString("hex")}`;

interface Backend {
  mode: StorageMode;
  open(): Promise<Store>;
  cleanup(): Promise<void>;
  version: string;
}

async function fileBackend(): Promise<Backend> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "g2a-bench-"));
  return { mode: "file", version: `fs ${os.platform()}`, open: () => createStore({ mode: "file", dataDir: dir }), cleanup: () => rm(dir, { recursive: true, force: true }) };
}

async function mysqlBackend(): Promise<Backend> {
  const u = new URL(MYSQL_URL);
  const admin = await mysql.createConnection({ host: u.hostname, port: Number(u.port || 3306), user: decodeURIComponent(u.username) || "root", password: decodeURIComponent(u.password) });
  const [[v]] = (await admin.query("SELECT VERSION() AS v")) as unknown as [[{ v: string }]];
  await admin.query(`CREATE DATABASE \`${tag}\` CHARACTER SET utf8mb4`);
  const url = `${MYSQL_URL}/${tag}`;
  return {
    mode: "mysql",
    version: `MySQL/MariaDB ${v.v}`,
    open: () => createStore({ mode: "mysql", dataDir: "", databaseUrl: url }),
    async cleanup() {
      await admin.query(`DROP DATABASE IF EXISTS \`${tag}\``);
      await admin.end();
    },
  };
}

async function redisBackend(): Promise<Backend> {
  const probe = new Redis(REDIS_URL, { lazyConnect: true });
  await probe.connect();
  const claimKey = "g2a_test_claim";
  let db = 0;
  for (let i = 1; i <= 15 && !db; i++) {
    await probe.select(i);
    if ((await probe.dbsize()) === 0 && (await probe.set(claimKey, tag, "PX", 600_000, "NX")) === "OK") db = i;
  }
  if (!db) throw new Error("no empty Redis database index 1-15 for the benchmark");
  const info = await probe.info("server");
  const prefix = `${tag}:`;
  return {
    mode: "redis",
    version: `Redis ${/redis_version:(\S+)/.exec(info)?.[1] ?? "?"} (db ${db})`,
    open: () => createStore({ mode: "redis", dataDir: "", databaseUrl: `${REDIS_URL}/${db}`, keyPrefix: prefix }),
    async cleanup() {
      let cursor = "0";
      do {
        const [next, keys] = await probe.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
        cursor = next;
        if (keys.length) await probe.del(...keys);
      } while (cursor !== "0");
      if ((await probe.get(claimKey)) === tag) await probe.del(claimKey);
      probe.disconnect();
    },
  };
}

/** Runs `op` for SECONDS with `c` calls in flight; returns completed calls per second. */
async function measure(c: number, op: (i: number) => Promise<unknown>): Promise<number> {
  let i = 0;
  let done = 0;
  const end = performance.now() + SECONDS * 1000;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: c }, async () => {
      while (performance.now() < end) {
        await op(i++);
        done++;
      }
    }),
  );
  return done / ((performance.now() - start) / 1000);
}

const OPS: { name: string; setup?: (s: Store) => Promise<void>; run: (s: Store, i: number, run: string) => Promise<unknown> }[] = [
  {
    name: "putAccounts (1 record)",
    run: (s, i, run) => s.putAccounts([newAccountRecord(`eyJ.bench.${run}.${i}`, Date.now())]),
  },
  {
    name: "updateAccount",
    // 100 accounts updated round-robin (16 in flight touch different rows, as a busy pool would)
    setup: (s) => s.putAccounts(Array.from({ length: 100 }, (_, k) => newAccountRecord(`eyJ.upd.${k}`, Date.now()))),
    run: (s, i) => s.updateAccount(`eyJ.upd.${i % 100}`, (r) => ({ ...r, useCount: r.useCount + 1, lastUsedAt: Date.now() })),
  },
  {
    name: "kvSet",
    run: (s, i, run) => s.kvSet(`bench:${run}:${i % 1000}`, `value-${i}`, 60_000),
  },
];

async function main(): Promise<void> {
  const makers: Record<StorageMode, () => Promise<Backend>> = { file: fileBackend, mysql: mysqlBackend, redis: redisBackend };
  const rows: string[][] = [];
  const versions: string[] = [];
  for (const mode of ONLY) {
    let backend: Backend;
    try {
      backend = await makers[mode]();
    } catch (e) {
      console.error(`${mode}: skipped (${e instanceof Error ? e.message : String(e)})`);
      continue;
    }
    versions.push(`${mode}: ${backend.version}`);
    const store = await backend.open();
    try {
      await store.init();
      for (const op of OPS) {
        await op.setup?.(store);
        const row = [mode, op.name];
        for (const c of CONCURRENCY) {
          const rate = await measure(c, (i) => op.run(store, i, `c${c}`));
          row.push(rate.toFixed(0));
          process.stderr.write(`  ${mode} ${op.name} c=${c}: ${rate.toFixed(0)}/s\n`);
        }
        rows.push(row);
      }
    } finally {
      await store.close().catch(() => undefined);
      await backend.cleanup();
    }
  }
  const header = ["backend", "operation", ...CONCURRENCY.map((c) => `c=${c} ops/s`)];
  const widths = header.map((h, k) => Math.max(h.length, ...rows.map((r) => r[k]!.length)));
  const fmt = (r: string[]) => r.map((cell, k) => (k < 2 ? cell.padEnd(widths[k]!) : cell.padStart(widths[k]!))).join("  ");
  console.log(`\nStore write throughput (${SECONDS}s per cell, Node ${process.version}, ${os.cpus().length} CPU)`);
  for (const v of versions) console.log(`  ${v}`);
  console.log("");
  console.log(fmt(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const r of rows) console.log(fmt(r));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
