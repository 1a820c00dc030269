/**
 * Our own export document (backup) and the import of every supported document: that export,
 * the original's token.json or settings, a JSON list of tokens or records, or a plain token list.
 * Pure.
 */
import type { AccountRecord } from "../core/account.js";
import { normalizeToken as normalizeSsoToken } from "../core/token.js";
import { importLegacyTokenJson, isLegacyTokenJson } from "./legacy-token-json.js";
import { importLegacySettings } from "./legacy-settings.js";
import { assertSettings, cloneJson, isPlainObject, normalizeRecord } from "./records.js";
import { parseTokenList, recordsFromTokenList } from "./token-list.js";
import type { StoredSettings } from "./types.js";

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
