import { createHash, randomBytes, scrypt as scryptCb, timingSafeEqual } from "node:crypto";
import { ProxyError } from "../errors.js";
import type { Logger } from "../log.js";
import type { Store } from "../store/types.js";

const HASH_KEY = "admin:password_hash";
/** Changes whenever the password does; a session is valid only with the epoch it was created in. */
const EPOCH_KEY = "admin:session_epoch";
const SESSION_PREFIX = "admin:session:";
export const SESSION_TTL_MS = 24 * 60 * 60 * 1000;

/** scrypt cost per OWASP's Password Storage Cheat Sheet (N=2^17, r=8, p=1: 128 MiB, ~0.3 s). */
export const SCRYPT_PARAMS = { N: 2 ** 17, r: 8, p: 1 } as const;

interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

function scrypt(password: string, salt: Buffer, len: number, params: ScryptParams): Promise<Buffer> {
  // scrypt needs 128·N·r bytes; Node's default maxmem (32 MiB) is below the OWASP cost.
  const maxmem = 128 * params.N * params.r * params.p + 16 * 1024 * 1024;
  return new Promise((resolve, reject) => scryptCb(password, salt, len, { ...params, maxmem }, (err, key) => (err ? reject(err) : resolve(key))));
}

/** Parameters of a stored hash, or null when malformed or out of sane bounds (a tampered hash must not cost gigabytes). */
function parseHash(stored: string): (ScryptParams & { salt: Buffer; hash: Buffer }) | null {
  const [alg, n, r, p, salt, hash] = stored.split("$");
  if (alg !== "scrypt" || !salt || !hash) return null;
  const N = Number(n), R = Number(r), P = Number(p);
  if (!Number.isInteger(N) || N < 2 ** 10 || N > 2 ** 20 || (N & (N - 1)) !== 0) return null;
  if (!Number.isInteger(R) || R < 1 || R > 32 || !Number.isInteger(P) || P < 1 || P > 16) return null;
  return { N, r: R, p: P, salt: Buffer.from(salt, "base64url"), hash: Buffer.from(hash, "base64url") };
}

/** scrypt hash as `scrypt$N$r$p$salt$hash` (base64url parts). */
export async function hashPassword(password: string, params: ScryptParams = SCRYPT_PARAMS): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, 32, params);
  return `scrypt$${params.N}$${params.r}$${params.p}$${salt.toString("base64url")}$${key.toString("base64url")}`;
}

/** Verifies against any stored scrypt hash, including older, cheaper ones (N=2^14). */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const h = parseHash(stored);
  if (!h || h.hash.length < 16) return false;
  const key = await scrypt(password, h.salt, h.hash.length, h);
  return key.length === h.hash.length && timingSafeEqual(key, h.hash);
}

/** True when a stored hash is cheaper than the current cost (it is upgraded at the next good login). */
export function needsRehash(stored: string): boolean {
  const h = parseHash(stored);
  return !h || h.N < SCRYPT_PARAMS.N || h.r < SCRYPT_PARAMS.r;
}

const sessionKey = (token: string) => SESSION_PREFIX + createHash("sha256").update(token).digest("hex");
const equal = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/** Delay before the next attempt after `failures` wrong passwords: none for the first 3, then 1 s doubling to 60 s. */
export function loginDelayMs(failures: number): number {
  return failures < 3 ? 0 : Math.min(1000 * 2 ** (failures - 3), 60_000);
}

interface ClientState {
  failures: number;
  /** No attempt is verified before this time. */
  nextAt: number;
  /** An attempt of this client is being verified. */
  busy: boolean;
  lastAt: number;
  /** The current refusal period was logged. */
  logged: boolean;
}

/**
 * Per-client login attempts: a slot is reserved before any hashing, one attempt per client is
 * verified at a time, and each failure past the third pushes the next attempt back (1 s,
 * doubling, at most 60 s). There is no lock-out: after the delay the right password works.
 */
export class LoginThrottle {
  private readonly clients = new Map<string, ClientState>();
  private lastPrune = 0;

  constructor(
    private readonly now: () => number = Date.now,
    /** Clients idle this long are forgotten. */
    private readonly forgetAfterMs = 15 * 60_000,
  ) {}

  /** Reserves an attempt: null when granted (call settle afterwards), else the wait in ms and whether this refusal period is new. */
  reserve(ip: string): { retryAfterMs: number; firstRefusal: boolean } | null {
    const t = this.now();
    this.prune(t);
    let s = this.clients.get(ip);
    if (!s) this.clients.set(ip, (s = { failures: 0, nextAt: 0, busy: false, lastAt: t, logged: false }));
    s.lastAt = t;
    if (s.busy || t < s.nextAt) {
      const firstRefusal = !s.logged;
      s.logged = true;
      return { retryAfterMs: Math.max(1000, s.nextAt - t), firstRefusal };
    }
    s.busy = true;
    return null;
  }

  /** Ends a reserved attempt: "ok" forgets the client, "fail" counts a failure, "void" (not verified) neither. */
  settle(ip: string, outcome: "ok" | "fail" | "void"): number {
    const s = this.clients.get(ip);
    if (!s) return 0;
    s.busy = false;
    if (outcome === "void") return s.failures;
    if (outcome === "ok") {
      this.clients.delete(ip);
      return 0;
    }
    s.failures++;
    s.lastAt = this.now();
    s.nextAt = s.lastAt + loginDelayMs(s.failures);
    s.logged = false;
    return s.failures;
  }

  private prune(t: number): void {
    if (t - this.lastPrune < 60_000 && this.clients.size < 10_000) return;
    this.lastPrune = t;
    for (const [ip, s] of this.clients) if (!s.busy && t - s.lastAt > this.forgetAfterMs) this.clients.delete(ip);
  }

  get size(): number {
    return this.clients.size;
  }
}

/** One scrypt at a time in the whole process (each takes 128 MiB); a short queue, then 503. */
class HashQueue {
  private running = false;
  private readonly waiting: Array<() => void> = [];
  constructor(private readonly maxWaiting = 16) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.running) {
      if (this.waiting.length >= this.maxWaiting) throw new ProxyError(503, "server_busy", "Too many logins at once; retry shortly.", { retryAfterMs: 2_000 });
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    this.running = true;
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running = false;
    }
  }
}

export type LoginResult = { ok: true; token: string } | { ok: false; retryAfterMs: number | null };

/**
 * Admin login: no well-known password. GROK2API_ADMIN_PASSWORD sets it; otherwise one is
 * generated on first run and shown once. Only a scrypt hash is stored. Sessions live in the store
 * (so several server processes share them), expire after 24 h, and end when the password changes.
 */
export class AdminAuth {
  readonly throttle: LoginThrottle;
  private readonly hashing = new HashQueue();
  private readonly log: Logger | undefined;

  constructor(
    private readonly store: Store,
    private readonly username: () => string,
    opts: { log?: Logger; now?: () => number } = {},
  ) {
    this.throttle = new LoginThrottle(opts.now);
    this.log = opts.log;
  }

  /** Settles once init() has: logins and session checks wait for it (the server listens while scrypt runs). */
  private ready: Promise<unknown> = Promise.resolve();

  /** Ensures a password exists. Returns the generated password when one was created now. */
  init(envPassword: string | null): Promise<{ generated: string | null }> {
    const p = this.initPassword(envPassword);
    this.ready = p.catch(() => undefined);
    return p;
  }

  private async initPassword(envPassword: string | null): Promise<{ generated: string | null }> {
    const current = await this.store.kvGet(HASH_KEY);
    if (envPassword) {
      if (!current || !(await this.hashing.run(() => verifyPassword(envPassword, current)))) await this.setPassword(envPassword);
      else if (needsRehash(current)) await this.store.kvSet(HASH_KEY, await this.hashing.run(() => hashPassword(envPassword)));
      await this.ensureEpoch();
      return { generated: null };
    }
    if (current) {
      await this.ensureEpoch();
      return { generated: null };
    }
    const generated = randomBytes(12).toString("base64url");
    await this.setPassword(generated);
    return { generated };
  }

  private async ensureEpoch(): Promise<string> {
    const epoch = await this.store.kvGet(EPOCH_KEY);
    if (epoch) return epoch;
    const fresh = randomBytes(16).toString("base64url");
    await this.store.kvSet(EPOCH_KEY, fresh);
    return fresh;
  }

  /** Stores a new password hash and ends every existing session (in every process sharing the store). */
  async setPassword(password: string): Promise<void> {
    await this.store.kvSet(HASH_KEY, await this.hashing.run(() => hashPassword(password)));
    await this.store.kvSet(EPOCH_KEY, randomBytes(16).toString("base64url"));
  }

  /** Checks a login. Cross-site requests never get here (originGuard refuses them first). */
  async login(username: string, password: string, ip: string): Promise<LoginResult> {
    await this.ready;
    const refused = this.throttle.reserve(ip);
    if (refused) {
      if (refused.firstRefusal) this.log?.warn("admin logins throttled", { ip, retry_after_s: Math.ceil(refused.retryAfterMs / 1000) });
      return { ok: false, retryAfterMs: refused.retryAfterMs };
    }
    let ok = false;
    let outcome: "ok" | "fail" | "void" = "void";
    try {
      const stored = await this.store.kvGet(HASH_KEY);
      // Always hash (also for a wrong user name), so the answer time does not tell which was wrong.
      const verified = !!stored && (await this.hashing.run(() => verifyPassword(password, stored)));
      ok = verified && equal(username, this.username());
      outcome = ok ? "ok" : "fail";
      if (ok && stored && needsRehash(stored)) await this.store.kvSet(HASH_KEY, await this.hashing.run(() => hashPassword(password)));
    } finally {
      const failures = this.throttle.settle(ip, outcome);
      if (outcome === "fail") this.log?.info("admin login failed", { ip, failures, next_attempt_in_s: Math.ceil(loginDelayMs(failures) / 1000) });
    }
    if (!ok) return { ok: false, retryAfterMs: null };
    return { ok: true, token: await this.mintSession() };
  }

  /**
   * A new session in the current password epoch. Called after a good login, and in-process by
   * the desktop app for its own manager window (no HTTP route leads here without the password).
   */
  async mintSession(): Promise<string> {
    await this.ready;
    const token = randomBytes(32).toString("base64url");
    await this.store.kvSet(sessionKey(token), await this.ensureEpoch(), SESSION_TTL_MS);
    return token;
  }

  async verify(token: string | null): Promise<boolean> {
    if (!token) return false;
    await this.ready;
    const session = await this.store.kvGet(sessionKey(token));
    if (session === null) return false;
    const epoch = await this.store.kvGet(EPOCH_KEY);
    return !!epoch && equal(session, epoch);
  }

  async logout(token: string): Promise<boolean> {
    const known = await this.verify(token);
    if (known) await this.store.kvDelete(sessionKey(token));
    return known;
  }
}
