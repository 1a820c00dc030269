/**
 * What the file backend's data files hold: their names, the accounts.json and kv.json layouts
 * (written one record per line / as an entries object, read back tolerantly) and the optional
 * encoding at rest. Pure.
 */
import type { AccountRecord } from "../core/account.js";
import { isPlainObject } from "./records.js";

export const FILE_NAMES = { settings: "settings.json", accounts: "accounts.json", kv: "kv.json", lock: ".grok2api-store.lock" } as const;
const ACCOUNTS_FORMAT = "grok2api-desktop-accounts";

export interface KvEntry {
  value: string;
  expiresAt: number | null;
}

/**
 * Optional encoding of the data files at rest (the desktop app seals them with the OS keychain).
 * `decode` must accept what `encode` wrote and should accept plain JSON from before; a file it
 * cannot decode is treated like one that does not parse (kept aside, reported).
 */
export interface FileCodec {
  encode(text: string): string;
  decode(text: string): string;
}

/**
 * Serialised line per stored record object. Stored records are never mutated in place (every
 * write stores a new object), so a record's line stays valid for as long as the object lives.
 */
const lineCache = new WeakMap<AccountRecord, string>();

export function serializeAccounts(accounts: Map<string, AccountRecord>): string {
  // one record per line: readable, diff-friendly and far smaller than full indentation
  const lines: string[] = [];
  for (const r of accounts.values()) {
    let line = lineCache.get(r);
    if (line === undefined) {
      line = "    " + JSON.stringify(r);
      lineCache.set(r, line);
    }
    lines.push(line);
  }
  return `{\n  "format": "${ACCOUNTS_FORMAT}",\n  "version": 1,\n  "accounts": [\n${lines.join(",\n")}${lines.length ? "\n" : ""}  ]\n}\n`;
}

/** null when `v` is an accounts document (ours, or a bare list), else what is wrong with it. */
export function accountsDocProblem(v: unknown): string | null {
  if (Array.isArray(v)) return null;
  if (isPlainObject(v) && Array.isArray(v.accounts)) return null;
  return `expected {"accounts": [...]}`;
}

/** The entries of an accounts document that passed accountsDocProblem(). */
export function accountsDocList(doc: unknown): unknown[] {
  return (Array.isArray(doc) ? doc : (doc as { accounts: unknown[] }).accounts) as unknown[];
}

export function serializeKv(kv: Map<string, KvEntry>): string {
  const now = Date.now();
  const entries: Record<string, KvEntry> = {};
  for (const [k, e] of kv) {
    if (e.expiresAt === null || e.expiresAt > now) entries[k] = e;
    else kv.delete(k); // expired: gone from memory and file alike
  }
  return JSON.stringify({ version: 1, entries }, null, 2) + "\n";
}

/** null when `v` is a kv document, else what is wrong with it. */
export function kvDocProblem(v: unknown): string | null {
  return isPlainObject(v) && isPlainObject(v.entries) ? null : `expected {"entries": {...}}`;
}

/** The unexpired, well-formed entries of a kv document that passed kvDocProblem(). */
export function parseKvDoc(doc: unknown): Map<string, KvEntry> {
  const kv = new Map<string, KvEntry>();
  const now = Date.now();
  for (const [k, e] of Object.entries((doc as { entries: Record<string, unknown> }).entries)) {
    if (!isPlainObject(e) || typeof e.value !== "string") continue;
    const expiresAt = typeof e.expiresAt === "number" ? e.expiresAt : null;
    if (expiresAt === null || expiresAt > now) kv.set(k, { value: e.value, expiresAt });
  }
  return kv;
}
