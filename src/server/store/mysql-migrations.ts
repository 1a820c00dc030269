/**
 * Versioned schema for the MySQL/MariaDB backend.
 *
 * Migrations are applied in order under a named server lock (GET_LOCK), so several processes
 * starting at once apply each migration exactly once; the others wait and then find nothing to do.
 * MySQL commits DDL implicitly, so every statement is written to be idempotent (IF NOT EXISTS):
 * a process killed half-way through a migration leaves a state the next start can simply re-run.
 * The version row is inserted only after all of a migration's statements succeeded.
 */
import type { Pool, PoolConnection, RowDataPacket } from "mysql2/promise";

export interface Migration {
  version: number;
  name: string;
  up: string[];
}

const TABLE_OPTS = "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin";

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "accounts, settings and kv",
    up: [
      `CREATE TABLE IF NOT EXISTS g2a_accounts (
        token_hash CHAR(64) NOT NULL,
        seq BIGINT NOT NULL AUTO_INCREMENT,
        token TEXT NOT NULL,
        record LONGTEXT NOT NULL,
        version BIGINT NOT NULL DEFAULT 1,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        PRIMARY KEY (token_hash),
        UNIQUE KEY g2a_accounts_seq (seq)
      ) ${TABLE_OPTS}`,
      `CREATE TABLE IF NOT EXISTS g2a_settings (
        id TINYINT NOT NULL,
        data LONGTEXT NOT NULL,
        version BIGINT NOT NULL DEFAULT 1,
        updated_at BIGINT NOT NULL,
        PRIMARY KEY (id)
      ) ${TABLE_OPTS}`,
      `CREATE TABLE IF NOT EXISTS g2a_kv (
        k_hash CHAR(64) NOT NULL,
        k TEXT NOT NULL,
        v LONGTEXT NOT NULL,
        expires_at BIGINT NULL,
        PRIMARY KEY (k_hash),
        KEY g2a_kv_expires (expires_at)
      ) ${TABLE_OPTS}`,
    ],
  },
  {
    version: 2,
    name: "concurrency slots",
    up: [
      `CREATE TABLE IF NOT EXISTS g2a_slot_locks (
        token_hash CHAR(64) NOT NULL,
        PRIMARY KEY (token_hash)
      ) ${TABLE_OPTS}`,
      `CREATE TABLE IF NOT EXISTS g2a_slots (
        token_hash CHAR(64) NOT NULL,
        lease_id VARCHAR(191) NOT NULL,
        expires_at BIGINT NOT NULL,
        PRIMARY KEY (token_hash, lease_id),
        KEY g2a_slots_expires (expires_at)
      ) ${TABLE_OPTS}`,
    ],
  },
  {
    version: 3,
    name: "change log",
    up: [
      `CREATE TABLE IF NOT EXISTS g2a_changes (
        id BIGINT NOT NULL AUTO_INCREMENT,
        kind VARCHAR(16) NOT NULL,
        token TEXT NULL,
        origin VARCHAR(64) NOT NULL,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (id),
        KEY g2a_changes_created (created_at)
      ) ${TABLE_OPTS}`,
    ],
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

export interface MigrationResult {
  /** Versions applied by this call. */
  applied: number[];
  /** Highest version recorded in the database afterwards. */
  current: number;
  /** Set when the database was migrated by a newer app than this one. */
  newerThanApp: boolean;
}

const LOCK_TIMEOUT_S = 60;

function checkOrder(migrations: readonly Migration[]): void {
  let prev = 0;
  for (const m of migrations) {
    if (!Number.isInteger(m.version) || m.version <= prev) throw new Error(`migrations must have increasing integer versions (got ${m.version} after ${prev})`);
    prev = m.version;
  }
}

/**
 * Applies pending migrations. `whileLocked` runs after them, still holding the migration lock
 * (used for the one-time import of the original Grok2API tables).
 */
export async function runMigrations(
  pool: Pool,
  opts: { migrations?: readonly Migration[]; log?: (level: "info" | "warn" | "error", msg: string) => void; whileLocked?: (conn: PoolConnection) => Promise<void> } = {},
): Promise<MigrationResult> {
  const migrations = opts.migrations ?? MIGRATIONS;
  checkOrder(migrations);
  const log = opts.log ?? (() => undefined);
  const conn = await pool.getConnection();
  let locked = false;
  let lockName = "";
  try {
    const [[db]] = await conn.query<RowDataPacket[]>("SELECT DATABASE() AS db");
    lockName = `g2a_migrate:${String(db?.db ?? "")}`.slice(0, 64);
    const [[got]] = await conn.query<RowDataPacket[]>("SELECT GET_LOCK(?, ?) AS ok", [lockName, LOCK_TIMEOUT_S]);
    if (Number(got?.ok) !== 1) throw new Error(`could not get the schema migration lock "${lockName}" within ${LOCK_TIMEOUT_S}s (another process is migrating?)`);
    locked = true;

    await conn.query(`CREATE TABLE IF NOT EXISTS g2a_schema_migrations (
      version INT NOT NULL,
      name VARCHAR(200) NOT NULL,
      applied_at BIGINT NOT NULL,
      PRIMARY KEY (version)
    ) ${TABLE_OPTS}`);
    const [rows] = await conn.query<RowDataPacket[]>("SELECT version FROM g2a_schema_migrations");
    const done = new Set(rows.map((r) => Number(r.version)));
    const applied: number[] = [];
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      for (const sql of m.up) await conn.query(sql);
      await conn.query("INSERT IGNORE INTO g2a_schema_migrations (version, name, applied_at) VALUES (?, ?, ?)", [m.version, m.name, Date.now()]);
      applied.push(m.version);
      log("info", `MySQL schema migration ${m.version} (${m.name}) applied`);
    }
    const [[max]] = await conn.query<RowDataPacket[]>("SELECT COALESCE(MAX(version), 0) AS v FROM g2a_schema_migrations");
    const current = Number(max?.v ?? 0);
    const known = migrations.length ? migrations[migrations.length - 1]!.version : 0;
    const newerThanApp = current > known;
    if (newerThanApp) log("warn", `the database schema is at version ${current}, newer than this app knows (${known}); continuing, but consider upgrading the app`);
    if (opts.whileLocked) await opts.whileLocked(conn);
    return { applied, current, newerThanApp };
  } finally {
    let clean = true;
    if (locked) clean = await conn.query("SELECT RELEASE_LOCK(?)", [lockName]).then(() => true, () => false);
    // a connection that may still hold the lock must not go back to the pool
    if (clean) conn.release();
    else conn.destroy();
  }
}
