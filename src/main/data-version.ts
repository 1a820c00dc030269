/**
 * "A newer version of the data was found": before the server opens the data folder (loading
 * settings would stamp them with this version), the versions written into the file store's files
 * are compared with what this build knows.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import type { TextCodec } from "./secret-codec.js";

export interface KnownVersions {
  /** SETTINGS_VERSION of the server (settings.json `_meta.version`). */
  settings: number;
  /** accounts.json and kv.json `version`. */
  accounts: number;
  kv: number;
}

function readJson(dir: string, name: string, codec: TextCodec | null): unknown {
  try {
    const text = readFileSync(path.join(dir, name), "utf8");
    return JSON.parse(codec ? codec.decode(text) : text);
  } catch {
    return null; // missing, unreadable or not JSON: the store reports those itself
  }
}

/** One sentence per file written by a newer version; empty when all is known. */
export function newerDataFound(dataDir: string, known: KnownVersions, codec: TextCodec | null = null): string[] {
  const out: string[] = [];
  const settings = readJson(dataDir, "settings.json", codec) as { _meta?: { version?: unknown } } | null;
  const sv = settings?._meta?.version;
  if (typeof sv === "number" && sv > known.settings) out.push(`settings.json is at version ${sv} (this app knows ${known.settings})`);
  for (const [name, k] of [["accounts.json", known.accounts], ["kv.json", known.kv]] as const) {
    const v = (readJson(dataDir, name, codec) as { version?: unknown } | null)?.version;
    if (typeof v === "number" && v > k) out.push(`${name} is at version ${v} (this app knows ${k})`);
  }
  return out;
}
