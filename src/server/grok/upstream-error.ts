import type { UpstreamFailure } from "../core/events.js";

/** Thrown by the grok client for a classified upstream failure (before any output was produced). */
export class UpstreamError extends Error {
  constructor(readonly failure: UpstreamFailure) {
    super(failure.message);
    this.name = "UpstreamError";
  }

  /** The failure kind (the pool's QuotaSource contract reads `err.kind`). */
  get kind() {
    return this.failure.kind;
  }
}
