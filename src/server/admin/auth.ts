import { createHash, randomBytes, scrypt as scryptCb, timingSafeEqual } from "node:crypto";
import { promisify } from "node:util";
import type { Store } from "../store/types.js";

const scrypt = promisify(scryptCb) as (pw: string, salt: Buffer, len: number, opts: { N: number; r: number; p: number }) => Promise<Buffer>;
const HASH_KEY = "admin:password_hash";
const SESSION_PREFIX = "admin:session:";
export const SESSION_TTL_MS = 24 * 60 * 60 * 1000;

/** scrypt hash as `scrypt$N$r$p$salt$hash` (base64url parts). */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const N = 16384, r = 8, p = 1;
  const key = await scrypt(password, salt, 32, { N, r, p });
  return `scrypt$${N}$${r}$${p}$${salt.toString("base64url")}$${key.toString("base64url")}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [alg, n, r, p, salt, hash] = stored.split("$");
  if (alg !== "scrypt" || !salt || !hash) return false;
  const expected = Buffer.from(hash, "base64url");
  const key = await scrypt(password, Buffer.from(salt, "base64url"), expected.length, { N: Number(n), r: Number(r), p: Number(p) });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

const sessionKey = (token: string) => SESSION_PREFIX + createHash("sha256").update(token).digest("hex");

/**
 * Admin login: no well-known password. GROK2API_ADMIN_PASSWORD sets it; otherwise one is
 * generated on first run and shown once. Only a scrypt hash is stored. Sessions live in the store
 * (so several server processes share them) and expire after 24 h.
 */
export class AdminAuth {
  private readonly failures = new Map<string, { count: number; since: number }>();

  constructor(
    private readonly store: Store,
    private readonly username: () => string,
  ) {}

  /** Ensures a password exists. Returns the generated password when one was created now. */
  async init(envPassword: string | null): Promise<{ generated: string | null }> {
    const current = await this.store.kvGet(HASH_KEY);
    if (envPassword) {
      if (!current || !(await verifyPassword(envPassword, current))) await this.store.kvSet(HASH_KEY, await hashPassword(envPassword));
      return { generated: null };
    }
    if (current) return { generated: null };
    const generated = randomBytes(12).toString("base64url");
    await this.store.kvSet(HASH_KEY, await hashPassword(generated));
    return { generated };
  }

  async setPassword(password: string): Promise<void> {
    await this.store.kvSet(HASH_KEY, await hashPassword(password));
  }

  /** Too many failed logins from one address in a minute → locked for the rest of that minute. */
  throttled(ip: string, now = Date.now()): boolean {
    const f = this.failures.get(ip);
    if (!f || now - f.since > 60_000) return false;
    return f.count >= 10;
  }

  async login(username: string, password: string, ip: string): Promise<string | null> {
    const stored = await this.store.kvGet(HASH_KEY);
    const ok = !!stored && username === this.username() && (await verifyPassword(password, stored));
    if (!ok) {
      const now = Date.now();
      const f = this.failures.get(ip);
      if (!f || now - f.since > 60_000) this.failures.set(ip, { count: 1, since: now });
      else f.count++;
      return null;
    }
    this.failures.delete(ip);
    const token = randomBytes(32).toString("base64url");
    await this.store.kvSet(sessionKey(token), "1", SESSION_TTL_MS);
    return token;
  }

  async verify(token: string | null): Promise<boolean> {
    if (!token) return false;
    return (await this.store.kvGet(sessionKey(token))) !== null;
  }

  async logout(token: string): Promise<boolean> {
    const known = await this.verify(token);
    if (known) await this.store.kvDelete(sessionKey(token));
    return known;
  }
}
