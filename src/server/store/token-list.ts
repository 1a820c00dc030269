/**
 * A plain token list (pasted text, a file, the original's GROK_COOKIES): one SSO cookie per line,
 * commas also separating. Pure.
 */
import { newAccountRecord, type AccountRecord } from "../core/account.js";
import { normalizeToken as normalizeSsoToken } from "../core/token.js";

/** The project's one SSO normaliser, under the name the legacy module has always exported. */
export { normalizeToken as normalizeSsoToken } from "../core/token.js";

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
