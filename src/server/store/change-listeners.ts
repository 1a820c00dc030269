/**
 * The onChange() listeners of a store that hears other processes' changes (MySQL polling, Redis
 * pub/sub): each change is handed to every listener; a throwing listener is logged, never fatal.
 */
import type { StoreChange } from "./types.js";
import { errText, type StoreLog } from "./usage.js";

/** putAccounts/deleteAccounts touching more tokens than this announce one "all accounts" change. */
export const ALL_ACCOUNTS_THRESHOLD = 200;

export class ChangeListeners {
  private readonly listeners = new Set<(c: StoreChange) => void>();
  private readonly log: StoreLog;

  constructor(log: StoreLog) {
    this.log = log;
  }

  /** Returns the unsubscribe function. */
  add(listener: (change: StoreChange) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  deliver(change: StoreChange): void {
    for (const l of this.listeners) {
      try {
        l(change);
      } catch (e) {
        this.log("error", `store change listener failed: ${errText(e)}`);
      }
    }
  }

  clear(): void {
    this.listeners.clear();
  }
}
