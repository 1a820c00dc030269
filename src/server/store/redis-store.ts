/**
 * Redis backend (ioredis). Keys, under a prefix (default "g2a:"):
 *   <p>accounts          hash   field = token, value = record JSON
 *   <p>settings          string settings JSON
 *   <p>kv:<key>          string with PX expiry
 *   <p>slots:<sha256>    zset   member = lease id, score = expiry (ms, Redis clock)
 *   <p>schema            string data layout version
 *   channel <p>changes   pub/sub change feed: {"o": origin, "k": kind, "t": tokens | "all"}
 *
 * Every write that changes settings/accounts publishes on the channel in the same MULTI or
 * script, so a change is never stored without being announced. updateAccount and usage
 * batches use compare-and-set scripts (the record is replaced only if it is still byte-for-byte
 * what was read; otherwise re-read and retry) — no WATCH, so one connection serves everything.
 *
 * Here: the Store methods and the change messages. The URL check, connections and MULTI:
 * redis-connection.ts; the Lua scripts: redis-scripts.ts.
 */
import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import type { AccountRecord } from "../core/account.js";
import { checkKv, checkSlot } from "./arguments.js";
import { ALL_ACCOUNTS_THRESHOLD, ChangeListeners } from "./change-listeners.js";
import { importLegacyFromRedis } from "./legacy-databases.js";
import { checkRedisUrl, execMulti, redisConnector } from "./redis-connection.js";
import { defineScripts, type ScriptedRedis } from "./redis-scripts.js";
import { applyUsage, assertRecord, assertSettings, checkUpdated, parseStoredSettings, sleep, tokenHash, type UsageTotals } from "./records.js";
import type { Store, StoreChange, StoredSettings, UsageDelta } from "./types.js";
import { DEFAULT_USAGE_FLUSH_MS, UsageBatcher, errText, type StoreLog } from "./usage.js";

export { checkRedisUrl } from "./redis-connection.js";

export const REDIS_SCHEMA_VERSION = 1;
const CAS_ATTEMPTS = 200;
const LEGACY_MARKER = "legacy-import-checked";

export interface RedisStoreOptions {
  url: string;
  keyPrefix?: string;
  log?: StoreLog;
  usageFlushMs?: number;
  /** Import the original Grok2API keys grok:tokens / grok:settings on first start (default true). */
  importLegacy?: boolean;
}

interface ChangeMessage {
  o: string;
  k: "settings" | "accounts";
  t?: string[] | "all";
}

export class RedisStore implements Store {
  readonly mode = "redis" as const;
  readonly problems: string[] = [];
  private client: ScriptedRedis | null = null;
  private sub: Redis | null = null;
  private readonly prefix: string;
  private readonly origin = randomUUID();
  private readonly log: StoreLog;
  private readonly usage: UsageBatcher;
  private readonly listeners: ChangeListeners;
  private readonly connect: () => Redis;
  private closed = false;

  constructor(private readonly opts: RedisStoreOptions) {
    checkRedisUrl(opts.url);
    this.prefix = opts.keyPrefix ?? "g2a:";
    this.log = opts.log ?? (() => undefined);
    this.usage = new UsageBatcher((b) => this.applyUsage(b), this.log, opts.usageFlushMs ?? DEFAULT_USAGE_FLUSH_MS);
    this.listeners = new ChangeListeners(this.log);
    this.connect = redisConnector(opts.url, this.log);
  }

  /** Key names (exposed for tests and tools). */
  get keys() {
    const p = this.prefix;
    return {
      accounts: `${p}accounts`,
      settings: `${p}settings`,
      schema: `${p}schema`,
      channel: `${p}changes`,
      kv: (k: string) => `${p}kv:${k}`,
      slots: (token: string) => `${p}slots:${tokenHash(token)}`,
    };
  }

  private c(): ScriptedRedis {
    if (!this.client) throw new Error(this.closed ? "the store is closed" : "the store is not initialised: call init() first");
    return this.client;
  }

  async init(): Promise<void> {
    if (this.client || this.closed) throw new Error("init() may only be called once");
    const client = this.connect();
    const sub = this.connect();
    try {
      await client.connect();
      await sub.connect();
    } catch (e) {
      client.disconnect();
      sub.disconnect();
      const u = new URL(this.opts.url);
      throw new Error(`Redis connection to ${u.hostname}:${u.port || 6379} failed: ${errText(e)}`);
    }
    const scripted = defineScripts(client);
    const k = this.keys;
    try {
      await client.set(k.schema, String(REDIS_SCHEMA_VERSION), "NX");
      const v = Number(await client.get(k.schema));
      if (v > REDIS_SCHEMA_VERSION) {
        const msg = `the Redis data layout (version ${v}) is newer than this app knows (${REDIS_SCHEMA_VERSION})`;
        this.problems.push(msg);
        this.log("warn", msg);
      }
      sub.on("message", (channel: string, message: string) => {
        if (channel === k.channel) this.onMessage(message);
      });
      await sub.subscribe(k.channel);
      // Pub/sub does not queue: after a reconnect (ioredis resubscribes by itself) changes made
      // meanwhile are unknown, so listeners are told to reload everything.
      sub.on("ready", () => {
        this.listeners.deliver({ kind: "settings" });
        this.listeners.deliver({ kind: "accounts", tokens: "all" });
      });
      this.client = scripted;
      this.sub = sub;
      if (this.opts.importLegacy !== false) await this.importLegacyOnce();
    } catch (e) {
      this.client = null;
      this.sub = null;
      client.disconnect();
      sub.disconnect();
      throw e;
    }
  }

  /** First start on a Redis the original Grok2API used: copy grok:tokens / grok:settings once. */
  private async importLegacyOnce(): Promise<void> {
    const c = this.c();
    const k = this.keys;
    const marker = `${this.prefix}${LEGACY_MARKER}`;
    if (await c.exists(marker)) return;
    // Only one process may do it: claim the marker first, give it back on failure.
    // (the claim expires by itself should this process die half-way)
    if ((await c.set(marker, "importing", "PX", 60_000, "NX")) !== "OK") return;
    try {
      const [accounts, settings] = await Promise.all([c.hlen(k.accounts), c.exists(k.settings)]);
      if (accounts > 0 || settings > 0) {
        await c.set(marker, "store already had data");
        return;
      }
      const legacy = await importLegacyFromRedis(c);
      let note = "no original Grok2API keys found";
      if (legacy.found.tokens || legacy.found.settings) {
        const m = c.multi();
        if (legacy.accounts.length) m.hset(k.accounts, ...legacy.accounts.flatMap((r) => [r.token, JSON.stringify(r)]));
        if (legacy.settings) m.set(k.settings, JSON.stringify(legacy.settings));
        m.publish(k.channel, JSON.stringify({ o: this.origin, k: "accounts", t: "all" } satisfies ChangeMessage));
        await m.exec();
        note = `imported ${legacy.accounts.length} account(s)${legacy.settings ? " and settings" : ""} from the original Grok2API keys grok:tokens/grok:settings (left untouched)`;
        this.log("info", note);
      }
      await c.set(marker, note);
    } catch (e) {
      await c.del(marker).catch(() => undefined);
      const msg = `the original Grok2API keys could not be imported: ${errText(e)}`;
      this.problems.push(msg);
      this.log("error", msg);
    }
  }

  async close(): Promise<void> {
    if (!this.client) return;
    const client = this.client;
    const sub = this.sub;
    try {
      await this.usage.close();
    } finally {
      this.closed = true;
      this.client = null;
      this.sub = null;
      this.listeners.clear();
      await sub?.quit().catch(() => sub.disconnect());
      await client.quit().catch(() => client.disconnect());
    }
  }

  private message(kind: "settings" | "accounts", tokens?: string[] | "all"): string {
    const msg: ChangeMessage = { o: this.origin, k: kind };
    if (kind === "accounts") msg.t = tokens === "all" || !tokens || tokens.length > ALL_ACCOUNTS_THRESHOLD ? "all" : tokens;
    return JSON.stringify(msg);
  }

  private onMessage(raw: string): void {
    let m: ChangeMessage;
    try {
      m = JSON.parse(raw) as ChangeMessage;
    } catch {
      return;
    }
    if (!m || m.o === this.origin) return;
    this.listeners.deliver(m.k === "settings" ? { kind: "settings" } : { kind: "accounts", tokens: Array.isArray(m.t) ? m.t : "all" });
  }

  // ---- settings ----
  async getSettings(): Promise<StoredSettings> {
    const raw = await this.c().get(this.keys.settings);
    return raw ? parseStoredSettings(raw) : {};
  }

  async saveSettings(settings: StoredSettings): Promise<void> {
    assertSettings(settings, "saveSettings");
    const c = this.c();
    await execMulti(c.multi().set(this.keys.settings, JSON.stringify(settings)).publish(this.keys.channel, this.message("settings")));
  }

  async updateSettings(update: (current: StoredSettings) => StoredSettings): Promise<StoredSettings> {
    const c = this.c();
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const raw = (await c.get(this.keys.settings)) ?? "";
      const next = update(raw ? parseStoredSettings(raw) : {});
      assertSettings(next, "updateSettings");
      if ((await c.g2aCasKey(this.keys.settings, raw, JSON.stringify(next), this.keys.channel, this.message("settings"))) === 1) return next;
      if (attempt > 2) await sleep(Math.random() * Math.min(50, 2 * attempt));
    }
    throw new Error(`updateSettings: gave up after ${CAS_ATTEMPTS} conflicting writes`);
  }

  // ---- accounts ----
  async listAccounts(): Promise<AccountRecord[]> {
    const all = await this.c().hgetall(this.keys.accounts);
    const list = Object.values(all).map((v) => JSON.parse(v) as AccountRecord);
    // a hash has no stable order: oldest first, then by token
    return list.sort((a, b) => a.createdAt - b.createdAt || (a.token < b.token ? -1 : a.token > b.token ? 1 : 0));
  }

  async getAccount(token: string): Promise<AccountRecord | null> {
    const raw = await this.c().hget(this.keys.accounts, token);
    return raw ? (JSON.parse(raw) as AccountRecord) : null;
  }

  async putAccounts(records: AccountRecord[]): Promise<void> {
    const c = this.c();
    for (const r of records) assertRecord(r, "putAccounts");
    if (!records.length) return;
    const last = new Map(records.map((r) => [r.token, r]));
    const m = c.multi();
    const entries = [...last.values()];
    for (let i = 0; i < entries.length; i += 500) {
      m.hset(this.keys.accounts, ...entries.slice(i, i + 500).flatMap((r) => [r.token, JSON.stringify(r)]));
    }
    m.publish(this.keys.channel, this.message("accounts", [...last.keys()]));
    await execMulti(m);
  }

  /** Read → compute → compare-and-set, retried while another writer got there first. */
  private async casLoop(token: string, compute: (cur: AccountRecord) => AccountRecord | null): Promise<{ stored: AccountRecord; written: boolean } | null> {
    const c = this.c();
    const k = this.keys;
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const raw = await c.hget(k.accounts, token);
      if (raw === null) return null;
      const next = compute(JSON.parse(raw) as AccountRecord);
      if (!next) return { stored: JSON.parse(raw) as AccountRecord, written: false };
      const res = await c.g2aCas(k.accounts, token, raw, JSON.stringify(next), k.channel, this.message("accounts", [token]));
      if (res === 1) return { stored: next, written: true };
      if (res === -1) return null;
      if (attempt > 2) await sleep(Math.random() * Math.min(50, 2 * attempt));
    }
    throw new Error(`updateAccount: gave up after ${CAS_ATTEMPTS} conflicting writes on one account`);
  }

  async updateAccount(token: string, update: (current: AccountRecord) => AccountRecord | null): Promise<AccountRecord | null> {
    const r = await this.casLoop(token, (cur) => checkUpdated(token, update(cur)));
    return r ? r.stored : null;
  }

  async deleteAccounts(tokens: string[]): Promise<number> {
    const c = this.c();
    const unique = [...new Set(tokens)];
    if (!unique.length) return 0;
    const m = c.multi();
    for (let i = 0; i < unique.length; i += 500) m.hdel(this.keys.accounts, ...unique.slice(i, i + 500));
    m.publish(this.keys.channel, this.message("accounts", unique));
    const res = await execMulti(m);
    return res.slice(0, -1).reduce<number>((n, v) => n + Number(v), 0);
  }

  recordUsage(delta: UsageDelta): void {
    this.c();
    this.usage.record(delta);
  }

  flush(): Promise<void> {
    this.c();
    return this.usage.flush();
  }

  private async applyUsage(batch: Map<string, UsageTotals>): Promise<void> {
    const entries = [...batch];
    // a few at a time: each is an independent compare-and-set on one record
    for (let i = 0; i < entries.length; i += 32) {
      await Promise.all(entries.slice(i, i + 32).map(([token, u]) => this.casLoop(token, (cur) => applyUsage(cur, u))));
    }
  }

  // ---- kv ----
  async kvGet(key: string): Promise<string | null> {
    return this.c().get(this.keys.kv(key));
  }

  async kvSet(key: string, value: string, ttlMs?: number): Promise<void> {
    checkKv(key, value, ttlMs);
    const c = this.c();
    if (ttlMs === undefined) await c.set(this.keys.kv(key), value);
    else await c.set(this.keys.kv(key), value, "PX", Math.ceil(ttlMs));
  }

  async kvDelete(key: string): Promise<void> {
    await this.c().del(this.keys.kv(key));
  }

  // ---- slots ----
  async acquireSlot(token: string, leaseId: string, cap: number, ttlMs: number): Promise<boolean> {
    checkSlot(leaseId, cap, ttlMs);
    return (await this.c().g2aAcquire(this.keys.slots(token), leaseId, cap, Math.ceil(ttlMs))) === 1;
  }

  async releaseSlot(token: string, leaseId: string): Promise<void> {
    await this.c().zrem(this.keys.slots(token), leaseId);
  }

  async slotCount(token: string): Promise<number> {
    return Number(await this.c().g2aCount(this.keys.slots(token)));
  }

  // ---- change feed (pub/sub) ----
  onChange(listener: (change: StoreChange) => void): () => void {
    this.c();
    return this.listeners.add(listener);
  }
}
