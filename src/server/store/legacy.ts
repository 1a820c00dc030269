/**
 * Import/export of the ORIGINAL Grok2API data formats so that its users switch in one step.
 *
 * Layouts (as found in the original's source; see the report/tests for details):
 *  - data/token.json, up to v1.3: `{"ssoNormal": {"<sso>": {createdTime, remainingQueries,
 *    heavyremainingQueries, status: "active"|"expired", failedCount, lastFailureTime,
 *    lastFailureReason, exhaustedAt, heavyExhaustedAt, tags, note}}, "ssoSuper": {…}}`;
 *    older files call the normal pool "sso".
 *  - data/token.json, later versions: `{"ssoBasic": [{token, status, quota, created_at,
 *    last_used_at, use_count, fail_count, last_fail_at, last_fail_reason, tags, note}], "ssoSuper": […]}`.
 *  - data/setting.toml: `[global]` / `[grok]` tables → our settings sections as-is.
 *  - MySQL: tables `grok_tokens` and `grok_settings` (id INT AUTO_INCREMENT, data JSON,
 *    updated_at, created_at); the newest row (highest id) holds the whole token.json / settings document.
 *  - Redis: string keys `grok:tokens` and `grok:settings` holding the same JSON documents.
 *
 * Everything here is pure except the two readers at the bottom, which only run SELECT/GET.
 */
import { newAccountRecord, type AccountRecord, type AccountStatus, type QuotaBucket, type Tier } from "../core/account.js";
import { assertSettings, cloneJson, isPlainObject, normalizeRecord } from "./records.js";
import type { StoredSettings } from "./types.js";

// ---------------------------------------------------------------------------------------------
// tokens

/** The project's one SSO normaliser, under the name this module has always exported. */
export { normalizeToken as normalizeSsoToken } from "../core/token.js";
import { normalizeToken as normalizeSsoToken } from "../core/token.js";

/**
 * A plain list: one SSO cookie per line (commas also separate, as in the original's GROK_COOKIES);
 * blank lines and `#` comments are skipped; tokens are normalised and de-duplicated in order.
 */
export function parseTokenList(text: string): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const line of String(text ?? "").split(/\r\n|\r|\n/)) {
    const trimmed = line.replace(/\0/g, "").trim();
    if (!trimmed || trimmed.startsWith("#")) continue;
    for (const part of trimmed.split(",")) {
      const t = normalizeSsoToken(part);
      if (t && !seen.has(t)) {
        seen.add(t);
        out.push(t);
      }
    }
  }
  return out;
}

/** Fresh records for a plain token list (tier basic until detected). */
export function recordsFromTokenList(tokens: string[], now = Date.now()): AccountRecord[] {
  return tokens.map((t) => newAccountRecord(t, now));
}

/** Epoch ms from the original's timestamps: ms or s, number or numeric/ISO string. */
export function legacyTime(v: unknown): number | null {
  let n: number;
  if (typeof v === "number") n = v;
  else if (typeof v === "string" && v.trim() !== "") {
    n = Number(v.trim());
    if (!Number.isFinite(n)) {
      const d = Date.parse(v);
      return Number.isFinite(d) ? d : null;
    }
  } else return null;
  if (!Number.isFinite(n) || n <= 0) return null;
  return Math.round(n < 1e11 ? n * 1000 : n); // < 1e11 can only be seconds (year 5138 in ms)
}

function legacyInt(v: unknown): number | null {
  const n = typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Number(v) : NaN;
  return Number.isFinite(n) ? Math.trunc(n) : null;
}

const DAY_MS = 24 * 60 * 60 * 1000;

function estimatedBucket(remaining: number, exhaustedAt: number | null): QuotaBucket {
  return {
    remaining,
    total: null,
    confidence: "estimated",
    // the original retried an exhausted token 24 h after it ran out
    resetAt: remaining === 0 && exhaustedAt !== null ? exhaustedAt + DAY_MS : null,
    windowSeconds: null,
    syncedAt: null,
  };
}

function poolTier(name: string): Tier | null {
  switch (name) {
    case "ssoNormal":
    case "sso":
    case "ssoBasic":
      return "basic";
    case "ssoSuper":
      return "super";
    case "ssoHeavy":
      return "heavy";
    default:
      return null;
  }
}

/** True when the object looks like an original token.json (any known pool key). */
export function isLegacyTokenJson(doc: unknown): doc is Record<string, unknown> {
  return isPlainObject(doc) && ["ssoNormal", "sso", "ssoBasic", "ssoSuper", "ssoHeavy"].some((k) => k in doc);
}

/** One entry of the original's pools → our record. `token` is already normalised. */
function legacyEntryToRecord(token: string, e: Record<string, unknown>, tier: Tier, now: number): AccountRecord {
  const createdAt = legacyTime(e.createdTime ?? e.created_at) ?? now;
  const r = newAccountRecord(token, now, tier, "imported");
  r.createdAt = createdAt;
  r.statusAt = createdAt;
  r.tags = Array.isArray(e.tags) ? e.tags.filter((t): t is string => typeof t === "string" && t.trim() !== "").map((t) => t.trim()) : [];
  r.note = typeof e.note === "string" ? e.note : "";
  r.failCount = Math.max(0, legacyInt(e.failedCount ?? e.fail_count) ?? 0);
  r.useCount = Math.max(0, legacyInt(e.use_count) ?? 0);
  r.lastUsedAt = legacyTime(e.last_used_at);

  const lastFailAt = legacyTime(e.lastFailureTime ?? e.last_fail_at);
  const lastFailReason = typeof (e.lastFailureReason ?? e.last_fail_reason) === "string" ? String(e.lastFailureReason ?? e.last_fail_reason) : "";
  const status = typeof e.status === "string" ? e.status.toLowerCase() : "active";
  let mapped: AccountStatus = "active";
  if (status === "expired") mapped = "dead";
  else if (status === "disabled") mapped = "disabled";
  r.status = mapped;
  if (mapped === "dead") {
    r.statusReason = lastFailReason ? `expired in Grok2API: ${lastFailReason}` : "marked expired in Grok2API";
    r.statusAt = lastFailAt ?? now;
  } else if (mapped === "disabled") {
    r.statusReason = "disabled in Grok2API";
    r.statusAt = now;
  }
  if (lastFailAt !== null) {
    r.failures = [{ at: lastFailAt, kind: mapped === "dead" ? "unauthorized" : "upstream_error", message: lastFailReason || "failure recorded by Grok2API" }];
  }

  // Quota figures. -1 meant "never checked" in the original; ≥ 0 is its last known estimate.
  const remaining = legacyInt(e.remainingQueries ?? e.quota);
  if (remaining !== null && remaining >= 0) r.quota.fast = estimatedBucket(remaining, legacyTime(e.exhaustedAt));
  else if (status === "cooling") r.quota.fast = estimatedBucket(0, null);
  const heavy = legacyInt(e.heavyremainingQueries);
  if (heavy !== null && heavy >= 0) r.quota.heavy = estimatedBucket(heavy, legacyTime(e.heavyExhaustedAt));
  return r;
}

/**
 * Original token.json (either generation) → records. Tokens are normalised; a token found in
 * several pools keeps the highest tier. Order: basic pool first, then super, each in file order.
 */
export function importLegacyTokenJson(doc: unknown, now = Date.now()): AccountRecord[] {
  if (!isPlainObject(doc)) throw new TypeError("token.json must be a JSON object");
  const byToken = new Map<string, AccountRecord>();
  const rank = (t: Tier) => ["basic", "super", "heavy"].indexOf(t);
  for (const [poolName, pool] of Object.entries(doc)) {
    const tier = poolTier(poolName);
    if (!tier || pool === null || pool === undefined) continue;
    const entries: [string, Record<string, unknown>][] = [];
    if (Array.isArray(pool)) {
      for (const item of pool) {
        if (typeof item === "string") entries.push([item, {}]);
        else if (isPlainObject(item) && typeof (item.token ?? item.sso) === "string") entries.push([String(item.token ?? item.sso), item]);
      }
    } else if (isPlainObject(pool)) {
      for (const [tok, e] of Object.entries(pool)) entries.push([tok, isPlainObject(e) ? e : {}]);
    } else {
      throw new TypeError(`token.json: pool "${poolName}" must be an object or a list`);
    }
    for (const [rawToken, e] of entries) {
      const token = normalizeSsoToken(rawToken);
      if (!token) continue;
      const rec = legacyEntryToRecord(token, e, tier, now);
      const prev = byToken.get(token);
      if (!prev || rank(rec.tier) > rank(prev.tier)) byToken.set(token, rec);
    }
  }
  return [...byToken.values()];
}

/** Our records → the original (v1.3) token.json shape, for users going back or sharing files. */
export function exportLegacyTokenJson(accounts: AccountRecord[]): { ssoNormal: Record<string, unknown>; ssoSuper: Record<string, unknown> } {
  const out = { ssoNormal: {} as Record<string, unknown>, ssoSuper: {} as Record<string, unknown> };
  for (const a of accounts) {
    const lastFailure = a.failures.length ? a.failures[a.failures.length - 1] : undefined;
    const fast = a.quota.fast;
    const heavy = a.quota.heavy;
    const pool = a.tier === "basic" ? out.ssoNormal : out.ssoSuper;
    pool[a.token] = {
      createdTime: a.createdAt,
      remainingQueries: fast && fast.remaining !== null ? fast.remaining : -1,
      heavyremainingQueries: heavy && heavy.remaining !== null ? heavy.remaining : -1,
      status: a.status === "dead" ? "expired" : "active",
      failedCount: a.failCount,
      lastFailureTime: lastFailure ? lastFailure.at : null,
      lastFailureReason: lastFailure ? lastFailure.message : a.status === "dead" ? a.statusReason || null : null,
      exhaustedAt: fast && fast.remaining === 0 && fast.resetAt !== null ? fast.resetAt - DAY_MS : null,
      heavyExhaustedAt: heavy && heavy.remaining === 0 && heavy.resetAt !== null ? heavy.resetAt - DAY_MS : null,
      tags: [...a.tags],
      note: a.note,
    };
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// settings

/**
 * Original settings `{"global": {...}, "grok": {...}}` → our sections, passed through as-is
 * (deep-copied). Top-level scalars, which the original never wrote, are kept under "global".
 */
export function importLegacySettings(doc: unknown): StoredSettings {
  if (!isPlainObject(doc)) throw new TypeError("settings must be a JSON object of sections");
  const out: StoredSettings = {};
  for (const [k, v] of Object.entries(doc)) {
    if (isPlainObject(v)) out[k] = cloneJson(v);
    else (out.global ??= {})[k] = cloneJson(v);
  }
  return out;
}

/**
 * The original's data/setting.toml → sections. A small TOML subset parser covering what that
 * file uses: [tables] (dotted names kept as one section name), bare/quoted keys, basic and
 * literal strings (single- and multi-line), integers, floats, booleans, arrays (also multi-line)
 * and inline tables. Throws with a line number on anything else.
 */
export function parseLegacySettingsToml(text: string): StoredSettings {
  const src = String(text ?? "").replace(/\r\n?/g, "\n");
  let i = 0;
  let line = 1;
  const out: StoredSettings = {};
  let section: Record<string, unknown> | null = null;
  const fail = (msg: string): never => {
    throw new SyntaxError(`setting.toml line ${line}: ${msg}`);
  };
  const peek = () => src[i];
  const skipWs = () => {
    while (i < src.length && (src[i] === " " || src[i] === "\t")) i++;
  };
  const skipWsNlComments = () => {
    for (;;) {
      skipWs();
      if (src[i] === "#") while (i < src.length && src[i] !== "\n") i++;
      if (src[i] === "\n") {
        i++;
        line++;
        continue;
      }
      return;
    }
  };
  const endOfLine = () => {
    skipWs();
    if (src[i] === "#") while (i < src.length && src[i] !== "\n") i++;
    if (i < src.length && src[i] !== "\n") fail(`unexpected "${src[i]}"`);
  };
  const parseKey = (): string => {
    skipWs();
    const parts: string[] = [];
    for (;;) {
      skipWs();
      const c = peek();
      if (c === '"' || c === "'") parts.push(parseString());
      else {
        const m = /^[A-Za-z0-9_-]+/.exec(src.slice(i));
        if (!m) fail("expected a key");
        parts.push(m![0]);
        i += m![0].length;
      }
      skipWs();
      if (peek() === ".") {
        i++;
        continue;
      }
      return parts.join(".");
    }
  };
  const parseString = (): string => {
    const q = src[i]!;
    const multi = src.startsWith(q.repeat(3), i);
    i += multi ? 3 : 1;
    if (multi && src[i] === "\n") {
      i++;
      line++;
    }
    let s = "";
    for (;;) {
      if (i >= src.length) fail("unterminated string");
      const c = src[i]!;
      if (multi ? src.startsWith(q.repeat(3), i) : c === q) {
        i += multi ? 3 : 1;
        return s;
      }
      if (c === "\n") {
        if (!multi) fail("newline in string");
        line++;
      }
      if (c === "\\" && q === '"') {
        const e = src[i + 1];
        const map: Record<string, string> = { n: "\n", t: "\t", r: "\r", b: "\b", f: "\f", '"': '"', "\\": "\\" };
        if (e !== undefined && e in map) {
          s += map[e];
          i += 2;
          continue;
        }
        if (e === "u" || e === "U") {
          const len = e === "u" ? 4 : 8;
          const hex = src.slice(i + 2, i + 2 + len);
          if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== len) fail("bad unicode escape");
          s += String.fromCodePoint(parseInt(hex, 16));
          i += 2 + len;
          continue;
        }
        if (multi && e === "\n") {
          // line-ending backslash: trim the newline and following whitespace
          i += 1;
          while (i < src.length && /\s/.test(src[i]!)) {
            if (src[i] === "\n") line++;
            i++;
          }
          continue;
        }
        fail(`bad escape "\\${e ?? ""}"`);
      }
      s += c;
      i++;
    }
  };
  const parseValue = (): unknown => {
    skipWs();
    const c = peek();
    if (c === '"' || c === "'") return parseString();
    if (c === "[") {
      i++;
      const arr: unknown[] = [];
      for (;;) {
        skipWsNlComments();
        if (peek() === "]") {
          i++;
          return arr;
        }
        arr.push(parseValue());
        skipWsNlComments();
        if (peek() === ",") {
          i++;
          continue;
        }
        if (peek() === "]") {
          i++;
          return arr;
        }
        fail("expected , or ] in array");
      }
    }
    if (c === "{") {
      i++;
      const obj: Record<string, unknown> = {};
      skipWs();
      if (peek() === "}") {
        i++;
        return obj;
      }
      for (;;) {
        const k = parseKey();
        skipWs();
        if (peek() !== "=") fail("expected = in inline table");
        i++;
        obj[k] = parseValue();
        skipWs();
        if (peek() === ",") {
          i++;
          continue;
        }
        if (peek() === "}") {
          i++;
          return obj;
        }
        fail("expected , or } in inline table");
      }
    }
    const m = /^[^\s,\]}#]+/.exec(src.slice(i));
    if (!m) fail("expected a value");
    const word = m![0];
    i += word.length;
    if (word === "true") return true;
    if (word === "false") return false;
    if (word === "inf" || word === "+inf") return Infinity;
    if (word === "-inf") return -Infinity;
    if (word === "nan" || word === "+nan" || word === "-nan") return NaN;
    const num = word.replace(/_/g, "");
    if (/^[+-]?(0x[0-9a-fA-F]+|0o[0-7]+|0b[01]+)$/.test(num)) {
      const neg = num.startsWith("-");
      const body = num.replace(/^[+-]/, "");
      const v = Number(body);
      return neg ? -v : v;
    }
    if (/^[+-]?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(num)) return Number(num);
    // dates and times are kept as their text
    if (/^\d{4}-\d{2}-\d{2}/.test(word) || /^\d{2}:\d{2}/.test(word)) return word;
    return fail(`unsupported value "${word}"`);
  };

  for (;;) {
    skipWsNlComments();
    if (i >= src.length) break;
    if (peek() === "[") {
      if (src[i + 1] === "[") fail("arrays of tables are not supported");
      i++;
      const name = parseKey();
      skipWs();
      if (peek() !== "]") fail("expected ] after table name");
      i++;
      endOfLine();
      section = out[name] ??= {};
      continue;
    }
    const key = parseKey();
    skipWs();
    if (peek() !== "=") fail(`expected = after key "${key}"`);
    i++;
    const value = parseValue();
    endOfLine();
    (section ?? (out.global ??= {}))[key] = value;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// our own export document

export const EXPORT_FORMAT = "grok2api-desktop";
export const EXPORT_VERSION = 1;

export interface ExportDocument {
  format: typeof EXPORT_FORMAT;
  version: typeof EXPORT_VERSION;
  /** ISO 8601 time of the export. */
  exportedAt: string;
  settings: StoredSettings;
  accounts: AccountRecord[];
}

export function exportJson(accounts: AccountRecord[], settings: StoredSettings, now = Date.now()): ExportDocument {
  return {
    format: EXPORT_FORMAT,
    version: EXPORT_VERSION,
    exportedAt: new Date(now).toISOString(),
    settings: cloneJson(settings),
    accounts: cloneJson(accounts),
  };
}

export type ImportFormat = "grok2api-desktop" | "legacy-token-json" | "legacy-settings" | "token-list" | "record-list";

export interface ImportResult {
  format: ImportFormat;
  accounts: AccountRecord[];
  /** Settings when the document had any (our export, original settings), else null. */
  settings: StoredSettings | null;
}

function dedupeRecords(records: AccountRecord[]): AccountRecord[] {
  const m = new Map<string, AccountRecord>();
  for (const r of records) m.set(r.token, r);
  return [...m.values()];
}

function recordsFromArray(arr: unknown[], now: number): ImportResult {
  if (arr.every((x) => typeof x === "string")) {
    return { format: "token-list", accounts: recordsFromTokenList(parseTokenList(arr.join("\n")), now), settings: null };
  }
  const accounts: AccountRecord[] = [];
  arr.forEach((x, idx) => {
    const rec = isPlainObject(x) ? normalizeRecord({ ...x, token: normalizeSsoToken(String(x.token ?? x.sso ?? "")) }, now) : null;
    if (!rec) throw new TypeError(`import: item ${idx} has no usable token`);
    accounts.push(rec);
  });
  return { format: "record-list", accounts: dedupeRecords(accounts), settings: null };
}

/**
 * Reads any supported import: our export document, the original token.json (either generation),
 * the original settings object, a JSON list of tokens or records, or plain text with one cookie
 * per line. A string is parsed as JSON when it starts with `{` or `[`, else as a token list.
 */
export function importJson(doc: unknown, now = Date.now()): ImportResult {
  if (typeof doc === "string") {
    const t = doc.replace(/^\uFEFF/, "").trim();
    if (t.startsWith("{") || t.startsWith("[")) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(t);
      } catch (e) {
        throw new SyntaxError(`import: not valid JSON (${e instanceof Error ? e.message : String(e)})`);
      }
      return importJson(parsed, now);
    }
    return { format: "token-list", accounts: recordsFromTokenList(parseTokenList(t), now), settings: null };
  }
  if (Array.isArray(doc)) return recordsFromArray(doc, now);
  if (!isPlainObject(doc)) throw new TypeError("import: expected a JSON object, a JSON list or text with one token per line");

  if (doc.format === EXPORT_FORMAT) {
    if (doc.version !== EXPORT_VERSION) throw new Error(`import: unsupported ${EXPORT_FORMAT} version ${String(doc.version)} (this app reads version ${EXPORT_VERSION})`);
    if (!Array.isArray(doc.accounts)) throw new TypeError("import: accounts must be a list");
    const settings = doc.settings === undefined || doc.settings === null ? {} : doc.settings;
    assertSettings(settings, "import");
    const { accounts } = recordsFromArray(doc.accounts, now);
    return { format: "grok2api-desktop", accounts, settings: cloneJson(settings) };
  }
  if (isLegacyTokenJson(doc)) return { format: "legacy-token-json", accounts: importLegacyTokenJson(doc, now), settings: null };
  if (Object.keys(doc).length > 0 && Object.values(doc).every(isPlainObject)) {
    return { format: "legacy-settings", accounts: [], settings: importLegacySettings(doc) };
  }
  throw new TypeError("import: unrecognised document (expected a grok2api-desktop export, the original token.json or settings, or a token list)");
}

// ---------------------------------------------------------------------------------------------
// readers for the original's MySQL tables and Redis keys

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
