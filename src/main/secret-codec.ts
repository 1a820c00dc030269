/**
 * Secrets at rest: with the OS keychain available (Electron's safeStorage), the file store's data
 * files (accounts with their cookies, settings with keys and the clearance, the admin password
 * hash and sessions) are sealed with it. A plain file from before is read as is and sealed at its
 * next write. Without a real keychain (e.g. Linux with only safeStorage's "basic_text" fallback)
 * the files stay plain, as in the headless server.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import type { SecretBox } from "./platform.js";

/** The server's file-store hook (src/server/store/file-format.ts FileCodec, re-exported by file-store.ts), restated so this file needs no server import. */
export interface TextCodec {
  encode(text: string): string;
  decode(text: string): string;
}

export const SEALED_PREFIX = "grok2api-sealed:v1:";

export function isSealed(text: string): boolean {
  return text.startsWith(SEALED_PREFIX);
}

export function safeStorageCodec(box: SecretBox): TextCodec {
  return {
    encode: (text) => `${SEALED_PREFIX}${box.encrypt(text).toString("base64")}\n`,
    decode: (text) => {
      if (!isSealed(text)) return text; // plain (from before sealing): sealed at the next write
      return box.decrypt(Buffer.from(text.slice(SEALED_PREFIX.length).trim(), "base64"));
    },
  };
}

/** The codec to use, or null when secrets cannot be sealed here. */
export function codecFor(box: SecretBox | null): TextCodec | null {
  return box && box.isAvailable() ? safeStorageCodec(box) : null;
}

export const SEALED_FILES = ["settings.json", "accounts.json", "kv.json"] as const;

/**
 * Sealed data files that cannot be opened now (no keychain, or it refuses them). The app does
 * not start its server over them: the file store would set an unreadable file aside and start
 * empty, which looks like lost accounts.
 */
export function unreadableSealedFiles(dataDir: string, codec: TextCodec | null): string[] {
  const bad: string[] = [];
  for (const name of SEALED_FILES) {
    let text: string;
    try {
      text = readFileSync(path.join(dataDir, name), "utf8");
    } catch {
      continue;
    }
    if (!isSealed(text)) continue;
    if (!codec) {
      bad.push(name);
      continue;
    }
    try {
      codec.decode(text);
    } catch {
      bad.push(name);
    }
  }
  return bad;
}
