/**
 * Runaway guard (grok-protocol.md §14.11): an upstream stream that repeats the same non-empty
 * delta many times in a row is stuck; the runner ends it with an error instead of passing the
 * repetition on for minutes. Text and reasoning are counted separately; an empty delta neither
 * counts nor breaks a run.
 */
export interface RunawayLimits {
  text: number;
  reasoning: number;
}

export const DEFAULT_RUNAWAY_LIMITS: RunawayLimits = { text: 128, reasoning: 256 };

export class RunawayGuard {
  private readonly last = { text: "", reasoning: "" };
  private readonly count = { text: 0, reasoning: 0 };

  constructor(private readonly limits: RunawayLimits = DEFAULT_RUNAWAY_LIMITS) {}

  /** Records one delta; true when `kind` has now repeated the same delta `limits[kind]` times in a row. */
  check(kind: "text" | "reasoning", delta: string): boolean {
    if (!delta) return false;
    if (delta === this.last[kind]) this.count[kind]++;
    else {
      this.last[kind] = delta;
      this.count[kind] = 1;
    }
    return this.count[kind] >= this.limits[kind];
  }
}
