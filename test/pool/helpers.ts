import { AccountPool } from "../../src/server/pool/account-pool.js";
import type { PoolOptions, QuotaReading } from "../../src/server/pool/api.js";
import { newAccountRecord, type AccountRecord, type QuotaBucket, type Tier } from "../../src/server/core/account.js";
import { seeded } from "../support/random.js";
import { MemoryPoolStore, type MemoryStoreOptions } from "./memory-store.js";

export const T0 = Date.UTC(2026, 7, 18, 12, 0, 0);

export class FakeClock {
  t: number;
  constructor(t = T0) {
    this.t = t;
  }
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

export { seeded };

export function bucket(remaining: number | null, total: number | null, extra: Partial<QuotaBucket> = {}): QuotaBucket {
  return { remaining, total, confidence: remaining === null ? "unknown" : "confirmed", resetAt: null, windowSeconds: 86_400, syncedAt: T0 - 60_000, ...extra };
}

export function account(token: string, patch: Partial<AccountRecord> = {}, tier: Tier = "basic"): AccountRecord {
  return { ...newAccountRecord(token, T0 - 3_600_000, tier, "manual"), ...patch };
}

export function reading(mode: string, remaining: number, total: number, extra: Partial<QuotaReading> = {}): QuotaReading {
  return { mode, remaining, total, windowSeconds: 86_400, resetAt: null, ...extra };
}

export interface Setup {
  pool: AccountPool;
  store: MemoryPoolStore;
  clock: FakeClock;
  logs: { level: string; msg: string; fields?: Record<string, unknown> }[];
}

export async function setup(
  records: AccountRecord[],
  opts: Partial<Omit<PoolOptions, "store" | "clock">> & { storeOptions?: MemoryStoreOptions } = {},
): Promise<Setup> {
  const clock = new FakeClock();
  const { storeOptions, ...poolOpts } = opts;
  const store = new MemoryPoolStore({ clock, ...storeOptions });
  await store.putAccounts(records);
  const logs: Setup["logs"] = [];
  const pool = new AccountPool({
    store,
    clock,
    random: seeded(42),
    log: (level, msg, fields) => logs.push({ level, msg, fields }),
    ...poolOpts,
  });
  await pool.load();
  return { pool, store, clock, logs };
}

/** Leases and releases at once; returns the token. */
export async function pick(pool: AccountPool, bucketName = "fast", minTier: Tier = "basic", cost = 1): Promise<string> {
  const lease = await pool.lease({ bucket: bucketName, cost, minTier });
  await lease.release();
  return lease.token;
}
