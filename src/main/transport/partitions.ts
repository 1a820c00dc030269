/**
 * Which Electron session (partition) talks to grok.com for an account. An account signed in
 * through the app's window keeps its persistent partition (its cookie jar holds that account's
 * Cloudflare clearance); any other account gets an in-memory partition of its own, so two
 * accounts never share a cookie jar. Only a hash of the token is kept, never the token.
 */
import { createHash } from "node:crypto";

export const tokenKey = (token: string): string => createHash("sha256").update(token).digest("hex").slice(0, 24);

/** An in-memory partition (no "persist:" prefix: nothing written to disk). */
export const memoryPartition = (token: string): string => `grok2api-upstream-${tokenKey(token)}`;
/** Persistent partition of a sign-in window. */
export const signInPartition = (id: string): string => `persist:grok2api-signin-${id}`;
/** Requests that carry no account cookie. */
export const ANONYMOUS_PARTITION = "grok2api-upstream-anonymous";

/** The `sso` cookie value of a Cookie header, or null. */
export function ssoOfCookieHeader(cookie: string | undefined): string | null {
  if (!cookie) return null;
  for (const part of cookie.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === "sso") return part.slice(eq + 1).trim() || null;
  }
  return null;
}

export function parseCookieHeader(cookie: string | undefined): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const part of (cookie ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0) out.push([part.slice(0, eq).trim(), part.slice(eq + 1).trim()]);
  }
  return out;
}

export class PartitionMap {
  constructor(
    /** token hash → persistent sign-in partition, as saved in the desktop settings */
    private readonly signedIn: () => Record<string, string>,
  ) {}

  forToken(token: string | null): string {
    if (!token) return ANONYMOUS_PARTITION;
    return this.signedIn()[tokenKey(token)] ?? memoryPartition(token);
  }
}
