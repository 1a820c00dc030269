/**
 * Real-service fixtures for the store tests: a MariaDB database of its own per use, a Redis
 * database index + key prefix of their own, temp directories. Everything is removed afterwards;
 * nothing else on the servers is touched (Redis cleanup deletes only keys under our prefix).
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import mysql from "mysql2/promise";
import { Redis } from "ioredis";

export const MYSQL_HOST = process.env.G2A_TEST_MYSQL_HOST ?? "127.0.0.1";
export const MYSQL_PORT = Number(process.env.G2A_TEST_MYSQL_PORT ?? 3306);
export const MYSQL_USER = process.env.G2A_TEST_MYSQL_USER ?? "root";
export const MYSQL_PASSWORD = process.env.G2A_TEST_MYSQL_PASSWORD ?? "";
export const REDIS_HOST = process.env.G2A_TEST_REDIS_HOST ?? "127.0.0.1";
export const REDIS_PORT = Number(process.env.G2A_TEST_REDIS_PORT ?? 6379);

export function uniqueName(prefix: string): string {
  return `${prefix}_${process.pid}_${randomBytes(4).toString("hex")}`;
}

export interface TestDatabase {
  name: string;
  url: string;
  /** A mysql2 connection to the database (closed by drop()). */
  conn(): Promise<mysql.Connection>;
  drop(): Promise<void>;
}

/** Creates `g2a_test_<pid>_<random>`; drop() removes it. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = uniqueName("g2a_test");
  const admin = await mysql.createConnection({ host: MYSQL_HOST, port: MYSQL_PORT, user: MYSQL_USER, password: MYSQL_PASSWORD });
  await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  await admin.end();
  const auth = MYSQL_PASSWORD ? `${encodeURIComponent(MYSQL_USER)}:${encodeURIComponent(MYSQL_PASSWORD)}` : encodeURIComponent(MYSQL_USER);
  const opened: mysql.Connection[] = [];
  return {
    name,
    url: `mysql://${auth}@${MYSQL_HOST}:${MYSQL_PORT}/${name}`,
    async conn() {
      const c = await mysql.createConnection({ host: MYSQL_HOST, port: MYSQL_PORT, user: MYSQL_USER, password: MYSQL_PASSWORD, database: name });
      opened.push(c);
      return c;
    },
    async drop() {
      for (const c of opened) await c.end().catch(() => undefined);
      const a = await mysql.createConnection({ host: MYSQL_HOST, port: MYSQL_PORT, user: MYSQL_USER, password: MYSQL_PASSWORD });
      await a.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await a.end();
    },
  };
}

export interface TestRedis {
  db: number;
  prefix: string;
  url: string;
  client: Redis;
  cleanup(): Promise<void>;
}

/** Marks a Redis database index as taken by one test fixture (expires by itself after 5 min). */
export const REDIS_CLAIM_KEY = "g2a_test_claim";

/**
 * Picks a Redis database 1–15 that is empty right now (random start), claims it with SET NX
 * (so concurrent test files never share one), and a unique key prefix. cleanup() deletes only
 * keys under the prefix, the `extraKeys` the test names explicitly, and the claim.
 */
export async function createTestRedis(extraKeys: string[] = []): Promise<TestRedis> {
  const probe = new Redis({ host: REDIS_HOST, port: REDIS_PORT, lazyConnect: true });
  await probe.connect();
  const claim = `${process.pid}-${randomBytes(4).toString("hex")}`;
  const start = Math.floor(Math.random() * 15);
  let db = 0;
  for (let round = 0; round < 20 && !db; round++) {
    for (let i = 0; i < 15 && !db; i++) {
      const cand = 1 + ((start + i) % 15);
      await probe.select(cand);
      if ((await probe.dbsize()) === 0 && (await probe.set(REDIS_CLAIM_KEY, claim, "PX", 300_000, "NX")) === "OK") db = cand;
    }
    if (!db) await new Promise((r) => setTimeout(r, 250));
  }
  if (!db) {
    probe.disconnect();
    throw new Error("no empty Redis database index 1-15 is free for the test");
  }
  const prefix = `${uniqueName("g2a_test")}:`;
  return {
    db,
    prefix,
    url: `redis://${REDIS_HOST}:${REDIS_PORT}/${db}`,
    client: probe,
    async cleanup() {
      let cursor = "0";
      do {
        const [next, keys] = await probe.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 500);
        cursor = next;
        if (keys.length) await probe.del(...keys);
      } while (cursor !== "0");
      if (extraKeys.length) await probe.del(...extraKeys);
      if ((await probe.get(REDIS_CLAIM_KEY)) === claim) await probe.del(REDIS_CLAIM_KEY);
      probe.disconnect();
    },
  };
}

export async function tempDir(): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "g2a-store-"));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Polls `fn` until it returns a truthy value or `timeoutMs` passes (then returns the last value). */
export async function waitFor<T>(fn: () => Promise<T> | T, timeoutMs: number, everyMs = 25): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v || Date.now() >= end) return v;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
