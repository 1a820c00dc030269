/**
 * Cost of one lease (+ release) with 10 000 accounts, against a same-run baseline: a plain linear
 * scan over the same records picking the least recently used active account with quota left.
 *
 *   node --import tsx bench/pool-lease.ts [accounts] [iterations]
 *
 * The in-memory store is used without copying records, so the figures are the pool's own cost
 * (selection scan, bookkeeping, the async slot round-trip), not the storage backend's.
 */
import { AccountPool } from "../src/server/pool/account-pool.js";
import { newAccountRecord, type AccountRecord, type QuotaBucket, type Tier } from "../src/server/core/account.js";
import { MemoryPoolStore } from "../test/pool/memory-store.js";
import { seeded } from "../test/pool/helpers.js";

const N = Number(process.argv[2] ?? 10_000);
const ITERATIONS = Number(process.argv[3] ?? 20_000);
const WARMUP = 2_000;


function buildAccounts(n: number, now: number, rnd: () => number): AccountRecord[] {
  const out: AccountRecord[] = [];
  for (let i = 0; i < n; i++) {
    const x = rnd();
    const tier: Tier = x < 0.7 ? "basic" : x < 0.9 ? "super" : "heavy";
    const rec = newAccountRecord(`tok-${i.toString(36).padStart(6, "0")}-${Math.floor(rnd() * 1e9).toString(36)}`, now - 86_400_000, tier, "manual");
    const s = rnd();
    if (s < 0.05) Object.assign(rec, { status: "cooling", statusReason: "timeout", cooldownUntil: now + 3_600_000 });
    else if (s < 0.08) Object.assign(rec, { status: "dead", statusReason: "banned" });
    else if (s < 0.09) Object.assign(rec, { status: "disabled" });
    const q = rnd();
    const total = tier === "basic" ? 30 : tier === "super" ? 140 : 400;
    const mk = (remaining: number | null, confidence: QuotaBucket["confidence"]): QuotaBucket => ({
      remaining, total: remaining === null ? null : total, confidence,
      resetAt: remaining === 0 ? now + 3_600_000 : null, windowSeconds: 86_400, syncedAt: now - 60_000,
    });
    if (q < 0.6) rec.quota["fast"] = mk(Math.floor(rnd() * (total + 1)), "confirmed");
    else if (q < 0.8) rec.quota["fast"] = mk(Math.floor(rnd() * (total + 1)), "estimated");
    else if (q < 0.9) rec.quota["fast"] = mk(0, "confirmed");
    // else: quota unknown
    if (rnd() < 0.5) rec.quota["auto"] = mk(Math.floor(rnd() * 8), "confirmed");
    rec.lastUsedAt = rnd() < 0.5 ? null : now - Math.floor(rnd() * 3_600_000);
    out.push(rec);
  }
  return out;
}

/** Baseline: the least recently used active account with fast quota left, one pass. */
function linearScan(records: readonly AccountRecord[]): AccountRecord | null {
  let best: AccountRecord | null = null;
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    if (r.status !== "active") continue;
    const b = r.quota["fast"];
    if (b !== undefined && b.remaining !== null && b.remaining < 1) continue;
    if (best === null || (r.lastUsedAt ?? 0) < (best.lastUsedAt ?? 0)) best = r;
  }
  return best;
}

interface Row {
  name: string;
  samples: Float64Array;
}

function summarize(row: Row): string[] {
  const s = Array.from(row.samples).sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  return [row.name, mean.toFixed(1), q(0.5).toFixed(1), q(0.99).toFixed(1), q(0.999).toFixed(1)];
}

async function measure(name: string, iterations: number, fn: () => Promise<unknown> | unknown): Promise<Row> {
  for (let i = 0; i < WARMUP; i++) await fn();
  const samples = new Float64Array(iterations);
  for (let i = 0; i < iterations; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    samples[i] = Number(process.hrtime.bigint() - t0) / 1_000;
  }
  return { name, samples };
}

async function makePool(records: AccountRecord[], cap: number): Promise<AccountPool> {
  const store = new MemoryPoolStore({ copy: false });
  await store.putAccounts(records.map((r) => structuredClone(r)));
  const pool = new AccountPool({ store, concurrencyPerAccount: cap, random: seeded(2) });
  await pool.load();
  return pool;
}

async function main(): Promise<void> {
  const now = Date.now();
  const records = buildAccounts(N, now, seeded(1));
  const rows: Row[] = [];
  let sink = 0;

  rows.push(await measure("baseline: plain linear scan", ITERATIONS, () => {
    sink += linearScan(records) === null ? 0 : 1;
  }));

  const uncapped = await makePool(records, 0);
  rows.push(await measure("lease+release, cap 0 (no store slot)", ITERATIONS, async () => {
    const l = await uncapped.lease({ bucket: "fast", cost: 1, minTier: "basic" });
    await l.release();
  }));

  const capped = await makePool(records, 4);
  rows.push(await measure("lease+release, cap 4 (store slot)", ITERATIONS, async () => {
    const l = await capped.lease({ bucket: "fast", cost: 1, minTier: "basic" });
    await l.release();
  }));

  const heldPool = await makePool(records, 2);
  const held = [];
  for (let i = 0; i < 1_000; i++) held.push(await heldPool.lease({ bucket: "fast", cost: 1, minTier: "basic" }));
  rows.push(await measure("lease+succeed, cap 2, 1 000 held, minTier super", ITERATIONS, async () => {
    const l = await heldPool.lease({ bucket: "fast", cost: 1, minTier: "super" });
    await l.succeed();
  }));
  for (const l of held) await l.release();

  const stats = capped.stats();
  console.log(`pool-lease bench: ${N} accounts (usable ${stats.usable}, cooling/exhausted ${stats.cooling}, dead ${stats.dead}, disabled ${stats.disabled}), ${ITERATIONS} iterations after ${WARMUP} warm-up, node ${process.version}`);
  const header = ["variant", "mean µs", "p50 µs", "p99 µs", "p99.9 µs"];
  const table = [header, ...rows.map(summarize)];
  const widths = header.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
  for (const r of table) console.log(r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  "));
  const leaks = uncapped.leakCheck() + capped.leakCheck() + heldPool.leakCheck();
  console.log(`outstanding leases after the run: ${leaks}${sink < 0 ? "" : ""}`);
}

await main();
