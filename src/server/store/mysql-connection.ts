/**
 * Reaching MySQL / MariaDB: DATABASE_URL → mysql2 options, the connection pool (every session
 * at READ COMMITTED and UTC; the database created when missing, as the original did) and
 * transactions retried on deadlock / lock-wait timeout.
 */
import mysql, { type Pool, type PoolConnection, type PoolOptions } from "mysql2/promise";
import { sleep } from "./records.js";
import { errText, type StoreLog } from "./usage.js";

/** mysql://user:pass@host:port/db?ssl=true → mysql2 options (user/password percent-decoded). */
export function parseMysqlUrl(url: string): PoolOptions & { database: string } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`DATABASE_URL is not a valid URL (expected mysql://user:pass@host:3306/database)`);
  }
  if (u.protocol !== "mysql:" && u.protocol !== "mariadb:") throw new Error(`DATABASE_URL for MySQL must start with mysql:// (got ${u.protocol}//)`);
  const database = decodeURIComponent(u.pathname.replace(/^\//, "")) || "grok2api";
  if (database.includes("/")) throw new Error(`DATABASE_URL: invalid database name "${database}"`);
  const opts: PoolOptions & { database: string } = {
    host: u.hostname.replace(/^\[|\]$/g, "") || "127.0.0.1",
    port: u.port ? Number(u.port) : 3306,
    user: decodeURIComponent(u.username) || "root",
    password: decodeURIComponent(u.password),
    database,
  };
  const ssl = u.searchParams.get("ssl") ?? u.searchParams.get("tls");
  if (ssl && !["0", "false", "off", "disable", "disabled"].includes(ssl.toLowerCase())) {
    opts.ssl = { rejectUnauthorized: !["skip-verify", "insecure", "no-verify"].includes(ssl.toLowerCase()) };
  }
  return opts;
}

function sqlCode(e: unknown): string | number | undefined {
  const err = e as { code?: string; errno?: number };
  return err?.errno ?? err?.code;
}

function retryable(e: unknown): boolean {
  const c = sqlCode(e);
  return c === 1213 || c === 1205 || c === "ER_LOCK_DEADLOCK" || c === "ER_LOCK_WAIT_TIMEOUT";
}

/** A connected pool on the URL's database, creating the database when it does not exist. */
export async function openMysqlPool(url: string, log: StoreLog, connectionLimit = 10): Promise<Pool> {
  const cfg = parseMysqlUrl(url);
  const make = () => {
    const pool = mysql.createPool({
      ...cfg,
      charset: "utf8mb4",
      waitForConnections: true,
      connectionLimit,
      enableKeepAlive: true,
      supportBigNumbers: true,
      bigNumberStrings: false,
    });
    pool.on("connection", (conn) => {
      // The event hands out the callback-style connection; these run before its first query.
      const core = conn as unknown as { query(sql: string, cb: (err: Error | null) => void): void };
      const warn = (err: Error | null) => {
        if (err) log("warn", `MySQL session setup failed: ${err.message}`);
      };
      core.query("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED", warn);
      core.query("SET SESSION time_zone = '+00:00'", warn);
    });
    return pool;
  };
  const pool = make();
  try {
    await pool.query("SELECT 1");
    return pool;
  } catch (e) {
    await pool.end().catch(() => undefined);
    if (sqlCode(e) !== 1049 && sqlCode(e) !== "ER_BAD_DB_ERROR") throw new Error(`MySQL connection to ${cfg.host}:${cfg.port} failed: ${errText(e)}`);
  }
  // database missing: create it (as the original did), then reconnect
  const admin = await mysql.createConnection({ ...cfg, database: undefined });
  try {
    await admin.query(`CREATE DATABASE IF NOT EXISTS ${mysql.escapeId(cfg.database)} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
    log("info", `MySQL database ${cfg.database} created`);
  } finally {
    await admin.end().catch(() => undefined);
  }
  return make();
}

/** Runs fn in a transaction; retried on deadlock / lock wait timeout (so fn may run more than once). */
export async function inTransaction<T>(pool: Pool, fn: (c: PoolConnection) => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    const c = await pool.getConnection();
    try {
      await c.beginTransaction();
      const out = await fn(c);
      await c.commit();
      return out;
    } catch (e) {
      await c.rollback().catch(() => undefined);
      if (retryable(e) && attempt < 8) {
        await sleep(5 + Math.random() * 20 * (attempt + 1));
        continue;
      }
      throw e;
    } finally {
      c.release();
    }
  }
}
