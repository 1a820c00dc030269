/**
 * Readers for the original Grok2API's MySQL tables and Redis keys (SELECT / GET only):
 *  - MySQL: tables `grok_tokens` and `grok_settings` (id INT AUTO_INCREMENT, data JSON,
 *    updated_at, created_at); the newest row (highest id) holds the whole token.json / settings document.
 *  - Redis: string keys `grok:tokens` and `grok:settings` holding the same JSON documents.
 */
import type { AccountRecord } from "../core/account.js";
import { importLegacySettings } from "./legacy-settings.js";
import { importLegacyTokenJson } from "./legacy-token-json.js";
import type { StoredSettings } from "./types.js";

export interface LegacyData {
  accounts: AccountRecord[];
  /** null when the original stored no settings there. */
  settings: StoredSettings | null;
  /** Which sources existed. */
  found: { tokens: boolean; settings: boolean };
}

/** What importLegacyFromMysql needs: a mysql2/promise Connection or Pool. */
export interface LegacySqlConn {
  query(sql: string, values?: unknown[]): Promise<[unknown, unknown]>;
}

function jsonColumn(v: unknown, where: string): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === "string" || Buffer.isBuffer(v)) {
    const text = v.toString();
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new SyntaxError(`${where}: stored JSON does not parse (${e instanceof Error ? e.message : String(e)})`);
    }
  }
  return v; // MySQL 8 JSON columns arrive already parsed
}

async function latestLegacyRow(conn: LegacySqlConn, table: "grok_tokens" | "grok_settings"): Promise<{ exists: boolean; data: unknown }> {
  const [tables] = await conn.query("SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?", [table]);
  if (Number((tables as { n: number | string }[])[0]?.n ?? 0) === 0) return { exists: false, data: null };
  const [rows] = await conn.query(`SELECT data FROM \`${table}\` ORDER BY id DESC LIMIT 1`);
  const row = (rows as { data: unknown }[])[0];
  return { exists: true, data: row ? jsonColumn(row.data, table) : null };
}

/** Reads the original's `grok_tokens` / `grok_settings` tables (current database of `conn`). */
export async function importLegacyFromMysql(conn: LegacySqlConn, now = Date.now()): Promise<LegacyData> {
  const tokens = await latestLegacyRow(conn, "grok_tokens");
  const settings = await latestLegacyRow(conn, "grok_settings");
  return {
    accounts: tokens.data === null ? [] : importLegacyTokenJson(tokens.data, now),
    settings: settings.data === null ? null : importLegacySettings(settings.data),
    found: { tokens: tokens.data !== null, settings: settings.data !== null },
  };
}

/** What importLegacyFromRedis needs: an ioredis client (or anything with get()). */
export interface LegacyRedisClient {
  get(key: string): Promise<string | null>;
}

export const LEGACY_REDIS_KEYS = { tokens: "grok:tokens", settings: "grok:settings" } as const;

/** Reads the original's `grok:tokens` / `grok:settings` keys. */
export async function importLegacyFromRedis(client: LegacyRedisClient, now = Date.now()): Promise<LegacyData> {
  const [t, s] = await Promise.all([client.get(LEGACY_REDIS_KEYS.tokens), client.get(LEGACY_REDIS_KEYS.settings)]);
  const tokens = t ? jsonColumn(t, LEGACY_REDIS_KEYS.tokens) : null;
  const settings = s ? jsonColumn(s, LEGACY_REDIS_KEYS.settings) : null;
  return {
    accounts: tokens === null ? [] : importLegacyTokenJson(tokens, now),
    settings: settings === null ? null : importLegacySettings(settings),
    found: { tokens: tokens !== null, settings: settings !== null },
  };
}
