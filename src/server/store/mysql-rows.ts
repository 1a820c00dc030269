/**
 * The MySQL backend's rows and the writes several Store methods share: account rows (keyed by
 * sha256(token), the record as JSON, a version bumped on every write), the settings row, the
 * change-log rows and slot lease keys. Times in SQL come from the database clock (NOW_MS).
 */
import type { PoolConnection } from "mysql2/promise";
import type { AccountRecord } from "../core/account.js";
import { ALL_ACCOUNTS_THRESHOLD } from "./change-listeners.js";
import { tokenHash } from "./records.js";
import type { StoredSettings } from "./types.js";

/** Current time in ms from the database clock (sessions run with time_zone '+00:00'). */
export const NOW_MS = "CAST(UNIX_TIMESTAMP(CURRENT_TIMESTAMP(3)) * 1000 AS SIGNED)";
const CHUNK = 500;

export function chunks<T>(arr: T[], n = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < arr.length; i += n) out.push(arr.slice(i, i + n));
  return out;
}

export function parseRecord(text: unknown): AccountRecord {
  return JSON.parse(Buffer.isBuffer(text) ? text.toString("utf8") : String(text)) as AccountRecord;
}

/** The lease id as stored in g2a_slots (hashed when longer than the column). */
export function leaseKey(leaseId: string): string {
  return leaseId.length <= 191 ? leaseId : "sha256:" + tokenHash(leaseId);
}

/** Inserts or replaces whole account rows. */
export async function writeAccounts(c: PoolConnection, records: AccountRecord[]): Promise<void> {
  const now = Date.now();
  for (const part of chunks(records)) {
    await c.query(
      `INSERT INTO g2a_accounts (token_hash, token, record, version, created_at, updated_at) VALUES ?
       ON DUPLICATE KEY UPDATE token = VALUES(token), record = VALUES(record), version = version + 1, updated_at = VALUES(updated_at)`,
      [part.map((r) => [tokenHash(r.token), r.token, JSON.stringify(r), 1, now, now])],
    );
  }
}

export async function writeSettings(c: PoolConnection, settings: StoredSettings): Promise<void> {
  await c.query(
    `INSERT INTO g2a_settings (id, data, version, updated_at) VALUES (1, ?, 1, ?)
     ON DUPLICATE KEY UPDATE data = VALUES(data), version = version + 1, updated_at = VALUES(updated_at)`,
    [JSON.stringify(settings), Date.now()],
  );
}

/** Appends to the change log in the writer's transaction (one "all" row for many tokens). */
export async function logChanges(c: PoolConnection, origin: string, kind: "settings" | "accounts", tokens: string[] | "all"): Promise<void> {
  const now = Date.now();
  const rows: unknown[][] =
    kind === "settings" || tokens === "all" || tokens.length > ALL_ACCOUNTS_THRESHOLD ? [[kind, null, origin, now]] : tokens.map((t) => [kind, t, origin, now]);
  for (const part of chunks(rows)) await c.query("INSERT INTO g2a_changes (kind, token, origin, created_at) VALUES ?", [part]);
}
