/**
 * Reaching Redis: the DATABASE_URL check, connections (ioredis reconnects by itself; each
 * distinct error is logged once) and MULTI transactions that fail on any failed command.
 */
import { Redis } from "ioredis";
import type { StoreLog } from "./usage.js";

/** Checks a redis:// or rediss:// URL (ioredis parses it; this gives a clear error first). */
export function checkRedisUrl(url: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error("DATABASE_URL is not a valid URL (expected redis://[user:pass@]host:6379/0)");
  }
  if (u.protocol !== "redis:" && u.protocol !== "rediss:") throw new Error(`DATABASE_URL for Redis must start with redis:// or rediss:// (got ${u.protocol}//)`);
  const db = u.pathname.replace(/^\//, "");
  if (db !== "" && !/^\d+$/.test(db)) throw new Error(`DATABASE_URL: Redis database must be a number, got "${db}"`);
  return u;
}

/** Makes connections to `url` that share one error log (client and subscriber alike). */
export function redisConnector(url: string, log: StoreLog): () => Redis {
  let lastErr = "";
  return () => {
    const r = new Redis(url, { lazyConnect: true, connectTimeout: 10_000, maxRetriesPerRequest: 20 });
    r.on("error", (e: Error) => {
      // ioredis reconnects by itself; log each distinct error once
      if (e.message !== lastErr) log("warn", `Redis: ${e.message}`);
      lastErr = e.message;
    });
    r.on("ready", () => (lastErr = ""));
    return r;
  };
}

/** Runs a MULTI and throws on any failed command in it. */
export async function execMulti(m: ReturnType<Redis["multi"]>): Promise<unknown[]> {
  const res = await m.exec();
  if (!res) throw new Error("Redis transaction was aborted");
  return res.map(([err, v]) => {
    if (err) throw err;
    return v;
  });
}
