/**
 * MySQL / MariaDB backend (mysql2/promise pool).
 *
 * - Schema: versioned migrations (mysql-migrations.ts) applied under GET_LOCK at init.
 * - Accounts keyed by sha256(token); the token and the JSON record are stored, with a version
 *   counter bumped on every write. updateAccount = transaction with SELECT … FOR UPDATE.
 * - Slots: a per-token lock row (g2a_slot_locks) serialises acquirers across processes;
 *   expired leases are purged inside the same transaction. Times come from the database clock.
 * - Change feed: every write appends to g2a_changes in the same transaction; each store polls it
 *   (default every 1 s) and tracks id gaps so a transaction that commits late is not missed.
 * - Usage batches are added in one transaction (rows locked FOR UPDATE, counters added, newer
 *   fields kept).
 * All transactions run at READ COMMITTED and are retried on deadlock / lock-wait timeout
 * (so an updateAccount callback may run more than once: keep it free of side effects).
 */
import { randomUUID } from "node:crypto";
import mysql, { type Pool, type PoolConnection, type PoolOptions, type ResultSetHeader, type RowDataPacket } from "mysql2/promise";
import type { AccountRecord } from "../core/account.js";
import { checkKv, checkSlot } from "./file-store.js";
import { importLegacyFromMysql } from "./legacy.js";
import { runMigrations, type MigrationResult } from "./mysql-migrations.js";
import { applyUsage, assertRecord, assertSettings, checkUpdated, isPlainObject, sleep, tokenHash, type UsageTotals } from "./records.js";
import type { Store, StoreChange, StoredSettings, UsageDelta } from "./types.js";
import { DEFAULT_USAGE_FLUSH_MS, UsageBatcher, errText, type StoreLog } from "./usage.js";

/** Current time in ms from the database clock (sessions run with time_zone '+00:00'). */
const NOW_MS = "CAST(UNIX_TIMESTAMP(CURRENT_TIMESTAMP(3)) * 1000 AS SIGNED)";
const CHUNK = 500;
/** putAccounts/deleteAccounts touching more tokens than this log one "all accounts" change. */
const ALL_THRESHOLD = 200;
const CHANGE_RETENTION_MS = 10 * 60 * 1000;
const GAP_WAIT_MS = 30_000;
const INIT_GAP_WINDOW = 100;
const LEGACY_MARKER = "g2a:legacy-import-checked";

export interface MysqlStoreOptions {
  url: string;
  log?: StoreLog;
  usageFlushMs?: number;
  /** Change-feed poll interval (default 1000 ms, at most 2000 keeps the contract). */
  pollIntervalMs?: number;
  /** Pool size (default 10). */
  connectionLimit?: number;
  /** Import the original Grok2API tables (grok_tokens/grok_settings) on first start (default true). */
  importLegacy?: boolean;
}

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

function chunks<T>(arr: T[], n = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < arr.length; i += n) out.push(arr.slice(i, i + n));
  return out;
}

function parseRecord(text: unknown): AccountRecord {
  return JSON.parse(Buffer.isBuffer(text) ? text.toString("utf8") : String(text)) as AccountRecord;
}

function leaseKey(leaseId: string): string {
  return leaseId.length <= 191 ? leaseId : "sha256:" + tokenHash(leaseId);
}

interface ChangeRow extends RowDataPacket {
  id: number;
  kind: string;
  token: string | null;
  origin: string;
}

export class MysqlStore implements Store {
  readonly mode = "mysql" as const;
  readonly problems: string[] = [];
  /** Result of the migrations run by init(). */
  migration: MigrationResult | null = null;
  private pool: Pool | null = null;
  private readonly origin = randomUUID();
  private readonly log: StoreLog;
  private readonly usage: UsageBatcher;
  private readonly pollMs: number;
  private listeners = new Set<(c: StoreChange) => void>();
  private lastChangeId = 0;
  private gaps = new Map<number, number>();
  private pollTimer: NodeJS.Timeout | null = null;
  private polling: Promise<void> | null = null;
  private lastPurge = 0;
  private lastPollOk = Date.now();
  private purging: Promise<void> | null = null;
  private closed = false;
  private pollErrorLogged = false;

  constructor(private readonly opts: MysqlStoreOptions) {
    this.log = opts.log ?? (() => undefined);
    this.usage = new UsageBatcher((b) => this.applyUsage(b), this.log, opts.usageFlushMs ?? DEFAULT_USAGE_FLUSH_MS);
    this.pollMs = Math.min(Math.max(opts.pollIntervalMs ?? 1000, 50), 2000);
  }

  private p(): Pool {
    if (!this.pool) throw new Error(this.closed ? "the store is closed" : "the store is not initialised: call init() first");
    return this.pool;
  }

  async init(): Promise<void> {
    if (this.pool || this.closed) throw new Error("init() may only be called once");
    const cfg = parseMysqlUrl(this.opts.url);
    const log = this.log;
    const make = () => {
      const pool = mysql.createPool({
        ...cfg,
        charset: "utf8mb4",
        waitForConnections: true,
        connectionLimit: this.opts.connectionLimit ?? 10,
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
    let pool = make();
    try {
      await pool.query("SELECT 1");
    } catch (e) {
      await pool.end().catch(() => undefined);
      if (sqlCode(e) !== 1049 && sqlCode(e) !== "ER_BAD_DB_ERROR") throw new Error(`MySQL connection to ${cfg.host}:${cfg.port} failed: ${errText(e)}`);
      // database missing: create it (as the original did), then reconnect
      const admin = await mysql.createConnection({ ...cfg, database: undefined });
      try {
        await admin.query(`CREATE DATABASE IF NOT EXISTS ${mysql.escapeId(cfg.database)} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
        log("info", `MySQL database ${cfg.database} created`);
      } finally {
        await admin.end().catch(() => undefined);
      }
      pool = make();
    }
    this.pool = pool;
    try {
      this.migration = await runMigrations(pool, {
        log,
        whileLocked: this.opts.importLegacy === false ? undefined : (conn) => this.importLegacyOnce(conn),
      });
      if (this.migration.newerThanApp) this.problems.push(`the database schema (version ${this.migration.current}) is newer than this app knows`);
      const [[row]] = await pool.query<RowDataPacket[]>("SELECT COALESCE(MAX(id), 0) AS id FROM g2a_changes");
      this.lastChangeId = Number(row?.id ?? 0);
      // ids just below the start that are not there yet may be transactions still in flight
      const [recent] = await pool.query<RowDataPacket[]>("SELECT id FROM g2a_changes WHERE id > ?", [this.lastChangeId - INIT_GAP_WINDOW]);
      const present = new Set(recent.map((r) => Number(r.id)));
      for (let g = Math.max(1, this.lastChangeId - INIT_GAP_WINDOW + 1); g < this.lastChangeId; g++) if (!present.has(g)) this.gaps.set(g, Date.now());
    } catch (e) {
      this.pool = null;
      await pool.end().catch(() => undefined);
      throw e;
    }
    this.schedulePoll();
  }

  /** First start on a database the original Grok2API used: copy its tokens/settings once. */
  private async importLegacyOnce(conn: PoolConnection): Promise<void> {
    const [marker] = await conn.query<RowDataPacket[]>("SELECT 1 FROM g2a_kv WHERE k_hash = ?", [tokenHash(LEGACY_MARKER)]);
    if (marker.length) return;
    const [[counts]] = await conn.query<RowDataPacket[]>("SELECT (SELECT COUNT(*) FROM g2a_accounts) AS a, (SELECT COUNT(*) FROM g2a_settings) AS s");
    let note = "no original Grok2API tables found";
    if (Number(counts?.a) === 0 && Number(counts?.s) === 0) {
      try {
        const legacy = await importLegacyFromMysql(conn);
        if (legacy.found.tokens || legacy.found.settings) {
          await conn.beginTransaction();
          try {
            await this.writeAccounts(conn, legacy.accounts);
            if (legacy.settings) await this.writeSettings(conn, legacy.settings);
            await conn.commit();
          } catch (e) {
            await conn.rollback().catch(() => undefined);
            throw e;
          }
          note = `imported ${legacy.accounts.length} account(s)${legacy.settings ? " and settings" : ""} from the original Grok2API tables grok_tokens/grok_settings (left untouched)`;
          this.log("info", note);
        }
      } catch (e) {
        const msg = `the original Grok2API tables could not be imported: ${errText(e)}`;
        this.problems.push(msg);
        this.log("error", msg);
        return; // try again next start
      }
    } else note = "store already had data";
    await conn.query("INSERT IGNORE INTO g2a_kv (k_hash, k, v, expires_at) VALUES (?, ?, ?, NULL)", [tokenHash(LEGACY_MARKER), LEGACY_MARKER, note]);
  }

  async close(): Promise<void> {
    if (!this.pool) return;
    const pool = this.pool;
    try {
      await this.usage.close();
    } finally {
      this.closed = true;
      if (this.pollTimer) clearTimeout(this.pollTimer);
      this.pollTimer = null;
      await this.polling?.catch(() => undefined);
      await this.purging?.catch(() => undefined);
      this.listeners.clear();
      this.pool = null;
      await pool.end().catch(() => undefined);
    }
  }

  /** Runs fn in a transaction; retried on deadlock / lock wait timeout. */
  private async tx<T>(fn: (c: PoolConnection) => Promise<T>): Promise<T> {
    const pool = this.p();
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

  private async logChanges(c: PoolConnection, kind: "settings" | "accounts", tokens: string[] | "all"): Promise<void> {
    const now = Date.now();
    const rows: unknown[][] =
      kind === "settings" || tokens === "all" || tokens.length > ALL_THRESHOLD ? [[kind, null, this.origin, now]] : tokens.map((t) => [kind, t, this.origin, now]);
    for (const part of chunks(rows)) await c.query("INSERT INTO g2a_changes (kind, token, origin, created_at) VALUES ?", [part]);
  }

  private async writeAccounts(c: PoolConnection, records: AccountRecord[]): Promise<void> {
    const now = Date.now();
    for (const part of chunks(records)) {
      await c.query(
        `INSERT INTO g2a_accounts (token_hash, token, record, version, created_at, updated_at) VALUES ?
         ON DUPLICATE KEY UPDATE token = VALUES(token), record = VALUES(record), version = version + 1, updated_at = VALUES(updated_at)`,
        [part.map((r) => [tokenHash(r.token), r.token, JSON.stringify(r), 1, now, now])],
      );
    }
  }

  private async writeSettings(c: PoolConnection, settings: StoredSettings): Promise<void> {
    await c.query(
      `INSERT INTO g2a_settings (id, data, version, updated_at) VALUES (1, ?, 1, ?)
       ON DUPLICATE KEY UPDATE data = VALUES(data), version = version + 1, updated_at = VALUES(updated_at)`,
      [JSON.stringify(settings), Date.now()],
    );
  }

  // ---- settings ----
  async getSettings(): Promise<StoredSettings> {
    const [rows] = await this.p().query<RowDataPacket[]>("SELECT data FROM g2a_settings WHERE id = 1");
    if (!rows.length) return {};
    const parsed = JSON.parse(String(rows[0]!.data)) as unknown;
    return isPlainObject(parsed) ? (parsed as StoredSettings) : {};
  }

  async saveSettings(settings: StoredSettings): Promise<void> {
    assertSettings(settings, "saveSettings");
    await this.tx(async (c) => {
      await this.writeSettings(c, settings);
      await this.logChanges(c, "settings", "all");
    });
  }

  async updateSettings(update: (current: StoredSettings) => StoredSettings): Promise<StoredSettings> {
    return this.tx(async (c) => {
      // Lock the row (creating it first if needed) so concurrent writers queue up here.
      await c.query("INSERT IGNORE INTO g2a_settings (id, data, version, updated_at) VALUES (1, '{}', 0, ?)", [Date.now()]);
      const [rows] = await c.query<RowDataPacket[]>("SELECT data FROM g2a_settings WHERE id = 1 FOR UPDATE");
      const parsed = rows.length ? (JSON.parse(String(rows[0]!.data)) as unknown) : {};
      const next = update(isPlainObject(parsed) ? (parsed as StoredSettings) : {});
      assertSettings(next, "updateSettings");
      await this.writeSettings(c, next);
      await this.logChanges(c, "settings", "all");
      return next;
    });
  }

  // ---- accounts ----
  async listAccounts(): Promise<AccountRecord[]> {
    const [rows] = await this.p().query<RowDataPacket[]>("SELECT record FROM g2a_accounts ORDER BY seq");
    return rows.map((r) => parseRecord(r.record));
  }

  async getAccount(token: string): Promise<AccountRecord | null> {
    const [rows] = await this.p().query<RowDataPacket[]>("SELECT record FROM g2a_accounts WHERE token_hash = ?", [tokenHash(token)]);
    return rows.length ? parseRecord(rows[0]!.record) : null;
  }

  async putAccounts(records: AccountRecord[]): Promise<void> {
    this.p();
    for (const r of records) assertRecord(r, "putAccounts");
    if (!records.length) return;
    const last = new Map(records.map((r) => [r.token, r])); // the last record of a token wins
    await this.tx(async (c) => {
      await this.writeAccounts(c, [...last.values()]);
      await this.logChanges(c, "accounts", [...last.keys()]);
    });
  }

  async updateAccount(token: string, update: (current: AccountRecord) => AccountRecord | null): Promise<AccountRecord | null> {
    const h = tokenHash(token);
    return this.tx(async (c) => {
      const [rows] = await c.query<RowDataPacket[]>("SELECT record FROM g2a_accounts WHERE token_hash = ? FOR UPDATE", [h]);
      if (!rows.length) return null;
      const cur = parseRecord(rows[0]!.record);
      const next = checkUpdated(token, update(parseRecord(rows[0]!.record)));
      if (!next) return cur;
      await c.query("UPDATE g2a_accounts SET record = ?, version = version + 1, updated_at = ? WHERE token_hash = ?", [JSON.stringify(next), Date.now(), h]);
      await this.logChanges(c, "accounts", [token]);
      return next;
    });
  }

  async deleteAccounts(tokens: string[]): Promise<number> {
    this.p();
    const unique = [...new Set(tokens)];
    if (!unique.length) return 0;
    return this.tx(async (c) => {
      let n = 0;
      for (const part of chunks(unique)) {
        const [res] = await c.query<ResultSetHeader>("DELETE FROM g2a_accounts WHERE token_hash IN (?)", [part.map(tokenHash)]);
        n += res.affectedRows;
      }
      if (n > 0) await this.logChanges(c, "accounts", unique);
      return n;
    });
  }

  recordUsage(delta: UsageDelta): void {
    this.p();
    this.usage.record(delta);
  }

  flush(): Promise<void> {
    this.p();
    return this.usage.flush();
  }

  private async applyUsage(batch: Map<string, UsageTotals>): Promise<void> {
    const byHash = new Map<string, [string, UsageTotals]>();
    for (const [t, u] of batch) byHash.set(tokenHash(t), [t, u]);
    const hashes = [...byHash.keys()].sort(); // fixed lock order between concurrent flushers
    for (const part of chunks(hashes)) {
      await this.tx(async (c) => {
        const [rows] = await c.query<RowDataPacket[]>("SELECT token_hash, record FROM g2a_accounts WHERE token_hash IN (?) ORDER BY token_hash FOR UPDATE", [part]);
        if (!rows.length) return;
        const now = Date.now();
        const values: unknown[][] = [];
        const tokens: string[] = [];
        for (const row of rows) {
          const entry = byHash.get(String(row.token_hash));
          if (!entry) continue;
          const next = applyUsage(parseRecord(row.record), entry[1]);
          values.push([row.token_hash, entry[0], JSON.stringify(next), 1, now, now]);
          tokens.push(entry[0]);
        }
        // rows are locked and exist, so this is an update of exactly those rows
        await c.query(
          `INSERT INTO g2a_accounts (token_hash, token, record, version, created_at, updated_at) VALUES ?
           ON DUPLICATE KEY UPDATE record = VALUES(record), version = version + 1, updated_at = VALUES(updated_at)`,
          [values],
        );
        await this.logChanges(c, "accounts", tokens);
      });
    }
  }

  // ---- kv ----
  async kvGet(key: string): Promise<string | null> {
    const [rows] = await this.p().query<RowDataPacket[]>(`SELECT v FROM g2a_kv WHERE k_hash = ? AND (expires_at IS NULL OR expires_at > ${NOW_MS})`, [tokenHash(key)]);
    return rows.length ? String(rows[0]!.v) : null;
  }

  async kvSet(key: string, value: string, ttlMs?: number): Promise<void> {
    checkKv(key, value, ttlMs);
    const expires = ttlMs === undefined ? "NULL" : `${NOW_MS} + ?`;
    const params: unknown[] = [tokenHash(key), key, value];
    if (ttlMs !== undefined) params.push(Math.ceil(ttlMs));
    await this.p().query(
      `INSERT INTO g2a_kv (k_hash, k, v, expires_at) VALUES (?, ?, ?, ${expires})
       ON DUPLICATE KEY UPDATE v = VALUES(v), expires_at = VALUES(expires_at)`,
      params,
    );
  }

  async kvDelete(key: string): Promise<void> {
    await this.p().query("DELETE FROM g2a_kv WHERE k_hash = ?", [tokenHash(key)]);
  }

  // ---- slots ----
  async acquireSlot(token: string, leaseId: string, cap: number, ttlMs: number): Promise<boolean> {
    checkSlot(leaseId, cap, ttlMs);
    this.p();
    const h = tokenHash(token);
    const lease = leaseKey(leaseId);
    return this.tx(async (c) => {
      // Exclusive lock on the token's lock row: acquirers of this token queue up here.
      await c.query("INSERT INTO g2a_slot_locks (token_hash) VALUES (?) ON DUPLICATE KEY UPDATE token_hash = token_hash", [h]);
      await c.query(`DELETE FROM g2a_slots WHERE token_hash = ? AND expires_at <= ${NOW_MS}`, [h]);
      const [rows] = await c.query<RowDataPacket[]>("SELECT lease_id FROM g2a_slots WHERE token_hash = ?", [h]);
      if (rows.some((r) => r.lease_id === lease)) {
        await c.query(`UPDATE g2a_slots SET expires_at = ${NOW_MS} + ? WHERE token_hash = ? AND lease_id = ?`, [Math.ceil(ttlMs), h, lease]);
        return true;
      }
      if (rows.length >= cap) return false;
      await c.query(`INSERT INTO g2a_slots (token_hash, lease_id, expires_at) VALUES (?, ?, ${NOW_MS} + ?)`, [h, lease, Math.ceil(ttlMs)]);
      return true;
    });
  }

  async releaseSlot(token: string, leaseId: string): Promise<void> {
    await this.p().query("DELETE FROM g2a_slots WHERE token_hash = ? AND lease_id = ?", [tokenHash(token), leaseKey(leaseId)]);
  }

  async slotCount(token: string): Promise<number> {
    const [[row]] = await this.p().query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM g2a_slots WHERE token_hash = ? AND expires_at > ${NOW_MS}`, [tokenHash(token)]);
    return Number(row?.n ?? 0);
  }

  // ---- change feed ----
  onChange(listener: (change: StoreChange) => void): () => void {
    this.p();
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  private schedulePoll(): void {
    if (this.closed) return;
    this.pollTimer = setTimeout(() => {
      this.polling = this.poll()
        .catch((e: unknown) => {
          if (!this.pollErrorLogged) this.log("warn", `MySQL change poll failed (will keep trying): ${errText(e)}`);
          this.pollErrorLogged = true;
        })
        .finally(() => {
          this.polling = null;
          this.schedulePoll();
        });
    }, this.pollMs);
    this.pollTimer.unref();
  }

  /** One poll of the change log (also housekeeping once a minute). Exposed for tests. */
  async poll(): Promise<void> {
    const pool = this.pool;
    if (!pool) return;
    const gapIds = [...this.gaps.keys()];
    const [rows] = await pool.query<ChangeRow[]>(
      `SELECT id, kind, token, origin FROM g2a_changes WHERE id > ?${gapIds.length ? " OR id IN (?)" : ""} ORDER BY id LIMIT 5000`,
      gapIds.length ? [this.lastChangeId, gapIds] : [this.lastChangeId],
    );
    this.pollErrorLogged = false;
    const now = Date.now();
    // After a long outage the change log may have been purged past our position: reload all.
    const resync = now - this.lastPollOk > CHANGE_RETENTION_MS / 2;
    this.lastPollOk = now;
    let settings = false;
    let all = false;
    const tokens = new Set<string>();
    for (const r of rows) {
      const id = Number(r.id);
      if (id <= this.lastChangeId) this.gaps.delete(id);
      else {
        // ids skipped here may belong to transactions that commit later: look for them again
        for (let g = this.lastChangeId + 1; g < id && this.gaps.size < 1000; g++) this.gaps.set(g, now);
        this.lastChangeId = id;
      }
      if (r.origin === this.origin) continue;
      if (r.kind === "settings") settings = true;
      else if (r.token === null) all = true;
      else tokens.add(r.token);
    }
    for (const [g, since] of this.gaps) if (now - since > GAP_WAIT_MS) this.gaps.delete(g);
    if (settings || resync) this.deliver({ kind: "settings" });
    if (resync) this.deliver({ kind: "accounts", tokens: "all" });
    else if (all || tokens.size) this.deliver({ kind: "accounts", tokens: all ? "all" : [...tokens] });
    if (now - this.lastPurge > 60_000 && !this.purging) {
      this.lastPurge = now;
      // housekeeping runs beside the poll so a slow DELETE never delays change delivery
      this.purging = this.purge(pool, now)
        .catch((e: unknown) => this.log("warn", `MySQL housekeeping failed: ${errText(e)}`))
        .finally(() => (this.purging = null));
    }
  }

  /** Drops old change-log rows, expired kv entries and long-expired slot leases. */
  private async purge(pool: Pool, now: number): Promise<void> {
    await pool.query("DELETE FROM g2a_changes WHERE created_at < ? LIMIT 10000", [now - CHANGE_RETENTION_MS]);
    await pool.query(`DELETE FROM g2a_kv WHERE expires_at IS NOT NULL AND expires_at < ${NOW_MS} LIMIT 10000`);
    await pool.query(`DELETE FROM g2a_slots WHERE expires_at < ${NOW_MS} - 3600000 LIMIT 10000`);
  }

  private deliver(change: StoreChange): void {
    for (const l of this.listeners) {
      try {
        l(change);
      } catch (e) {
        this.log("error", `store change listener failed: ${errText(e)}`);
      }
    }
  }
}
