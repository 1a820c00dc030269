/**
 * Batches recordUsage() calls: deltas are summed per token in memory and handed to the backend
 * at most `delayMs` after the first unflushed delta (default 750 ms, so the write itself also
 * lands within the promised 1 s), and on flush()/close().
 *
 * The backend applies a batch atomically per record (add counters, max lastUsedAt) so that
 * fields written meanwhile by updateAccount()/putAccounts() are never overwritten.
 */
import type { UsageDelta } from "./types.js";
import { validateUsageDelta, type UsageTotals } from "./records.js";

export type ApplyUsage = (batch: Map<string, UsageTotals>) => Promise<void>;
export type StoreLog = (level: "info" | "warn" | "error", msg: string) => void;

export const DEFAULT_USAGE_FLUSH_MS = 750;

export function mergeTotals(into: Map<string, UsageTotals>, token: string, u: UsageTotals): void {
  const cur = into.get(token);
  if (!cur) {
    into.set(token, { ...u });
    return;
  }
  cur.uses += u.uses;
  cur.failures += u.failures;
  if (u.lastUsedAt !== null) cur.lastUsedAt = cur.lastUsedAt === null ? u.lastUsedAt : Math.max(cur.lastUsedAt, u.lastUsedAt);
}

export class UsageBatcher {
  private pending = new Map<string, UsageTotals>();
  private timer: NodeJS.Timeout | null = null;
  /** Serialises batches so flush() resolves only after everything recorded before it is stored. */
  private chain: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly apply: ApplyUsage,
    private readonly log: StoreLog,
    private readonly delayMs = DEFAULT_USAGE_FLUSH_MS,
  ) {}

  record(delta: UsageDelta): void {
    validateUsageDelta(delta);
    if (this.closed) throw new Error("recordUsage: the store is closed");
    const uses = delta.uses ?? 0;
    const failures = delta.failures ?? 0;
    const lastUsedAt = delta.lastUsedAt ?? null;
    if (uses === 0 && failures === 0 && lastUsedAt === null) return;
    mergeTotals(this.pending, delta.token, { uses, failures, lastUsedAt });
    this.arm(this.delayMs);
  }

  private arm(ms: number): void {
    if (this.timer || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush().catch((e: unknown) => this.log("error", `usage flush failed (will retry): ${errText(e)}`));
    }, ms);
  }

  /** Writes everything recorded so far; resolves when stored. On failure the batch is kept for a retry. */
  flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const batch = this.pending;
    this.pending = new Map();
    const run = this.chain.then(async () => {
      if (batch.size === 0) return;
      try {
        await this.apply(batch);
      } catch (e) {
        // keep the counts: merge back and try again a little later
        for (const [t, u] of batch) mergeTotals(this.pending, t, u);
        if (!this.closed) this.arm(Math.min(this.delayMs, 1000));
        throw e;
      }
    });
    this.chain = run.catch(() => undefined);
    return run;
  }

  get pendingTokens(): number {
    return this.pending.size;
  }

  /** Final flush; after this record() throws. */
  async close(): Promise<void> {
    try {
      await this.flush();
    } finally {
      this.closed = true;
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
    }
  }
}

export function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
