/** SSO token helpers (grok-protocol.md §2.1). */

/**
 * Normalises one SSO cookie as users paste it (grok-protocol.md §2.1): `sso=<jwt>`, `<jwt>; other=…`,
 * a whole Cookie header (`sso-rw=…; sso=<jwt>; …`), with stray CR/LF/NUL/whitespace or quotes.
 * Returns "" when nothing is left. The one normaliser of the project.
 */
export function normalizeToken(raw: string): string {
  let s = String(raw ?? "").replace(/\0/g, "");
  s = s.trim().replace(/^cookie:\s*/i, "");
  // A cookie header with several pairs: take the one named exactly "sso".
  if (s.includes(";")) {
    const pairs = s.split(";").map((p) => p.trim());
    const sso = pairs.find((p) => /^sso\s*=/i.test(p));
    s = sso ?? pairs[0] ?? "";
  }
  s = s.replace(/^sso\s*=/i, "");
  s = s.replace(/\s+/g, "");
  if (s.length >= 2 && ((s.startsWith('"') && s.endsWith('"')) || (s.startsWith("'") && s.endsWith("'")))) s = s.slice(1, -1);
  return s;
}

/** A short, non-secret label for logs and error messages: first 6 and last 4 characters. */
export function maskToken(token: string): string {
  if (token.length <= 12) return `${token.slice(0, 2)}…`;
  return `${token.slice(0, 6)}…${token.slice(-4)}`;
}
