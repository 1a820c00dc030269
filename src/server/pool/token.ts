/** SSO token helpers (grok-protocol.md §2.1). */

/** Strips a leading `sso=`, cuts at the first `;`, removes CR/LF/NUL and surrounding blanks. */
export function normalizeToken(raw: string): string {
  let t = raw.replace(/[\r\n\0]/g, "").trim();
  if (t.toLowerCase().startsWith("sso=")) t = t.slice(4);
  const semi = t.indexOf(";");
  if (semi >= 0) t = t.slice(0, semi);
  return t.trim();
}

/** A short, non-secret label for logs and error messages: first 6 and last 4 characters. */
export function maskToken(token: string): string {
  if (token.length <= 12) return `${token.slice(0, 2)}…`;
  return `${token.slice(0, 6)}…${token.slice(-4)}`;
}
