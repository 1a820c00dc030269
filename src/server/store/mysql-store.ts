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
 *
 * Here: the Store methods. Connection and transactions: mysql-connection.ts; shared row writes:
 * mysql-rows.ts; the change feed: mysql-change-feed.ts; the schema: mysql-migrations.ts.
 */
import { randomUUID } from "node:crypto";
import type { Pool, PoolConnection, ResultSetHeader, RowDataPacket } from "mysql2/promise";
import type { AccountRecord } from "../core/account.js";
import { checkKv, checkSlot } from "./arguments.js";
import { ChangeListeners } from "./change-listeners.js";
import { importLegacyFromMysql } from "./legacy-databases.js";
import { MysqlChangeFeed } from "./mysql-change-feed.js";
import { inTransaction, openMysqlPool } from "./mysql-connection.js";
import { runMigrations, type MigrationResult } from "./mysql-migrations.js";
import { NOW_MS, chunks, leaseKey, logChanges, parseRecord, writeAccounts, writeSettings } from "./mysql-rows.js";
import { applyUsage, assertRecord, assertSettings, checkUpdated, parseStoredSettings, tokenHash, type UsageTotals } from "./records.js";
import type { Store, StoreChange, StoredSettings, UsageDelta } from "./types.js";
import { DEFAULT_USAGE_FLUSH_MS, UsageBatcher, errText, type StoreLog } from "./usage.js";

export { parseMysqlUrl } from "./mysql-connection.js";

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

export class MysqlStore implements Store {
  readonly mode = "mysql" as const;
  readonly problems: string[] = [];
  /** Result of the migrations run by init(). */
  migration: MigrationResult | null = null;
  private pool: Pool | null = null;
  private readonly origin = randomUUID();
  private readonly log: StoreLog;
  private readonly usage: UsageBatcher;
  private readonly listeners: ChangeListeners;
  private readonly feed: MysqlChangeFeed;
  private closed = false;

  constructor(private readonly opts: MysqlStoreOptions) {
    this.log = opts.log ?? (() => undefined);
    this.usage = new UsageBatcher((b) => this.applyUsage(b), this.log, opts.usageFlushMs ?? DEFAULT_USAGE_FLUSH_MS);
    this.listeners = new ChangeListeners(this.log);
    this.feed = new MysqlChangeFeed(this.origin, Math.min(Math.max(opts.pollIntervalMs ?? 1000, 50), 2000), this.listeners, this.log);
  }

  private p(): Pool {
    if (!this.pool) throw new Error(this.closed ? "the store is closed" : "the store is not initialised: call init() first");
    return this.pool;
  }

  async init(): Promise<void> {
    if (this.pool || this.closed) throw new Error("init() may only be called once");
    const log = this.log;
    const pool = await openMysqlPool(this.opts.url, log, this.opts.connectionLimit ?? 10);
    this.pool = pool;
    try {
      this.migration = await runMigrations(pool, {
        log,
        whileLocked: this.opts.importLegacy === false ? undefined : (conn) => this.importLegacyOnce(conn),
      });
      if (this.migration.newerThanApp) this.problems.push(`the database schema (version ${this.migration.current}) is newer than this app knows`);
      await this.feed.position(pool);
    } catch (e) {
      this.pool = null;
      await pool.end().catch(() => undefined);
      throw e;
    }
    this.feed.start(pool);
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
            await writeAccounts(conn, legacy.accounts);
            if (legacy.settings) await writeSettings(conn, legacy.settings);
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
      await this.feed.stop();
      this.listeners.clear();
      this.pool = null;
      await pool.end().catch(() => undefined);
    }
  }

  /** Runs fn in a transaction; retried on deadlock / lock wait timeout. */
  private async tx<T>(fn: (c: PoolConnection) => Promise<T>): Promise<T> {
    return inTransaction(this.p(), fn);
  }

  // ---- settings ----
  async getSettings(): Promise<StoredSettings> {
    const [rows] = await this.p().query<RowDataPacket[]>("SELECT data FROM g2a_settings WHERE id = 1");
    return rows.length ? parseStoredSettings(String(rows[0]!.data)) : {};
  }

  async saveSettings(settings: StoredSettings): Promise<void> {
    assertSettings(settings, "saveSettings");
    await this.tx(async (c) => {
      await writeSettings(c, settings);
      await logChanges(c, this.origin, "settings", "all");
    });
  }

  async updateSettings(update: (current: StoredSettings) => StoredSettings): Promise<StoredSettings> {
    return this.tx(async (c) => {
      // Lock the row (creating it first if needed) so concurrent writers queue up here.
      await c.query("INSERT IGNORE INTO g2a_settings (id, data, version, updated_at) VALUES (1, '{}', 0, ?)", [Date.now()]);
      const [rows] = await c.query<RowDataPacket[]>("SELECT data FROM g2a_settings WHERE id = 1 FOR UPDATE");
      const next = update(rows.length ? parseStoredSettings(String(rows[0]!.data)) : {});
      assertSettings(next, "updateSettings");
      await writeSettings(c, next);
      await logChanges(c, this.origin, "settings", "all");
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
      await writeAccounts(c, [...last.values()]);
      await logChanges(c, this.origin, "accounts", [...last.keys()]);
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
      await logChanges(c, this.origin, "accounts", [token]);
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
      if (n > 0) await logChanges(c, this.origin, "accounts", unique);
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
        await logChanges(c, this.origin, "accounts", tokens);
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

  // ---- change feed (polling: mysql-change-feed.ts) ----
  onChange(listener: (change: StoreChange) => void): () => void {
    this.p();
    return this.listeners.add(listener);
  }

  /** One poll of the change log now (what the timer does every pollIntervalMs). Exposed for tests. */
  poll(): Promise<void> {
    return this.feed.poll();
  }
}
