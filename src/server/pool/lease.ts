/**
 * One lease of one account. The first of succeed/fail/release settles it; later calls return the
 * same promise (an outcome after settling is ignored and logged). Settling never rejects.
 */
import type { FailOptions, Lease, QuotaReading } from "./api.js";
import type { PoolEntry } from "./entry.js";
import type { AccountRecord, FailureKind } from "../core/account.js";

export type LeaseOutcome =
  | { type: "success"; quota: QuotaReading[] | undefined }
  | { type: "failure"; kind: FailureKind; message: string; opts: FailOptions }
  | null;

export interface LeaseHost {
  finish(lease: PoolLease, outcome: LeaseOutcome): Promise<void>;
  lateOutcome(lease: PoolLease, outcome: Exclude<LeaseOutcome, null>): void;
}

export class PoolLease implements Lease {
  readonly id: string;
  readonly token: string;
  readonly account: Readonly<AccountRecord>;
  readonly entry: PoolEntry;
  readonly bucket: string;
  readonly cost: number;
  readonly requestId: string | undefined;
  /** The lease decremented the bucket's local estimate. */
  readonly decremented: boolean;
  readonly startedAt: number;
  /** A store slot is held and must be released. */
  slotHeld = false;
  private readonly host: LeaseHost;
  private done: Promise<void> | null = null;

  constructor(host: LeaseHost, entry: PoolEntry, id: string, bucket: string, cost: number, decremented: boolean, now: number, requestId?: string) {
    this.host = host;
    this.entry = entry;
    this.id = id;
    this.token = entry.rec.token;
    this.account = entry.rec;
    this.bucket = bucket;
    this.cost = cost;
    this.decremented = decremented;
    this.startedAt = now;
    this.requestId = requestId;
  }

  get settled(): boolean {
    return this.done !== null;
  }

  succeed(info?: { quota?: QuotaReading[] }): Promise<void> {
    return this.settle({ type: "success", quota: info?.quota });
  }

  fail(kind: FailureKind, message: string, opts: FailOptions = {}): Promise<void> {
    return this.settle({ type: "failure", kind, message, opts });
  }

  release(): Promise<void> {
    return this.settle(null);
  }

  /** Marks a lease that was never handed out (slot refused) as settled. */
  discard(): void {
    this.done ??= Promise.resolve();
  }

  private settle(outcome: LeaseOutcome): Promise<void> {
    if (this.done !== null) {
      if (outcome !== null) this.host.lateOutcome(this, outcome);
      return this.done;
    }
    this.done = this.host.finish(this, outcome);
    return this.done;
  }
}
