/**
 * The MySQL backend's change feed: every write appends to g2a_changes in its own transaction;
 * each store polls the log (default every 1 s) from the highest id it saw and tracks id gaps, so
 * a transaction that commits after a later one is not missed (a gap is given up after 30 s).
 * After an outage longer than half the log's retention, listeners are told to reload everything.
 * Once a minute, beside the poll, old log rows, expired kv entries and long-expired slots are purged.
 */
import type { Pool, RowDataPacket } from "mysql2/promise";
import type { ChangeListeners } from "./change-listeners.js";
import { NOW_MS } from "./mysql-rows.js";
import { errText, type StoreLog } from "./usage.js";

const CHANGE_RETENTION_MS = 10 * 60 * 1000;
const GAP_WAIT_MS = 30_000;
const INIT_GAP_WINDOW = 100;

interface ChangeRow extends RowDataPacket {
  id: number;
  kind: string;
  token: string | null;
  origin: string;
}

export class MysqlChangeFeed {
  private pool: Pool | null = null;
  private lastChangeId = 0;
  private gaps = new Map<number, number>();
  private pollTimer: NodeJS.Timeout | null = null;
  private polling: Promise<void> | null = null;
  private lastPurge = 0;
  private lastPollOk = Date.now();
  private purging: Promise<void> | null = null;
  private closed = false;
  private pollErrorLogged = false;

  /** `origin`: this store's id in the log (its own rows are not delivered). */
  constructor(
    private readonly origin: string,
    private readonly pollMs: number,
    private readonly listeners: ChangeListeners,
    private readonly log: StoreLog,
  ) {}

  /** Positions the feed at the end of the log; ids just below it that are missing may still commit. */
  async position(pool: Pool): Promise<void> {
    const [[row]] = await pool.query<RowDataPacket[]>("SELECT COALESCE(MAX(id), 0) AS id FROM g2a_changes");
    this.lastChangeId = Number(row?.id ?? 0);
    const [recent] = await pool.query<RowDataPacket[]>("SELECT id FROM g2a_changes WHERE id > ?", [this.lastChangeId - INIT_GAP_WINDOW]);
    const present = new Set(recent.map((r) => Number(r.id)));
    for (let g = Math.max(1, this.lastChangeId - INIT_GAP_WINDOW + 1); g < this.lastChangeId; g++) if (!present.has(g)) this.gaps.set(g, Date.now());
  }

  /** Starts polling `pool` (after position()). */
  start(pool: Pool): void {
    this.pool = pool;
    this.schedulePoll();
  }

  /** Stops polling and waits for a poll or purge in progress. */
  async stop(): Promise<void> {
    this.closed = true;
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.pollTimer = null;
    await this.polling?.catch(() => undefined);
    await this.purging?.catch(() => undefined);
    this.pool = null;
  }

  private schedulePoll(): void {
    if (this.closed) return;
    this.pollTimer = setTimeout(() => {
      this.polling = this.poll()
        .catch((e: unknown) => {
          if (!this.pollErrorLogged) this.log("warn", `MySQL change poll failed (will keep trying): ${errText(e)}`);
          this.pollErrorLogged = true;
        })
        .finally(() => {
          this.polling = null;
          this.schedulePoll();
        });
    }, this.pollMs);
    this.pollTimer.unref();
  }

  /** One poll of the change log (also housekeeping once a minute). */
  async poll(): Promise<void> {
    const pool = this.pool;
    if (!pool) return;
    const gapIds = [...this.gaps.keys()];
    const [rows] = await pool.query<ChangeRow[]>(
      `SELECT id, kind, token, origin FROM g2a_changes WHERE id > ?${gapIds.length ? " OR id IN (?)" : ""} ORDER BY id LIMIT 5000`,
      gapIds.length ? [this.lastChangeId, gapIds] : [this.lastChangeId],
    );
    this.pollErrorLogged = false;
    const now = Date.now();
    // After a long outage the change log may have been purged past our position: reload all.
    const resync = now - this.lastPollOk > CHANGE_RETENTION_MS / 2;
    this.lastPollOk = now;
    let settings = false;
    let all = false;
    const tokens = new Set<string>();
    for (const r of rows) {
      const id = Number(r.id);
      if (id <= this.lastChangeId) this.gaps.delete(id);
      else {
        // ids skipped here may belong to transactions that commit later: look for them again
        for (let g = this.lastChangeId + 1; g < id && this.gaps.size < 1000; g++) this.gaps.set(g, now);
        this.lastChangeId = id;
      }
      if (r.origin === this.origin) continue;
      if (r.kind === "settings") settings = true;
      else if (r.token === null) all = true;
      else tokens.add(r.token);
    }
    for (const [g, since] of this.gaps) if (now - since > GAP_WAIT_MS) this.gaps.delete(g);
    if (settings || resync) this.listeners.deliver({ kind: "settings" });
    if (resync) this.listeners.deliver({ kind: "accounts", tokens: "all" });
    else if (all || tokens.size) this.listeners.deliver({ kind: "accounts", tokens: all ? "all" : [...tokens] });
    if (now - this.lastPurge > 60_000 && !this.purging) {
      this.lastPurge = now;
      // housekeeping runs beside the poll so a slow DELETE never delays change delivery
      this.purging = this.purge(pool, now)
        .catch((e: unknown) => this.log("warn", `MySQL housekeeping failed: ${errText(e)}`))
        .finally(() => (this.purging = null));
    }
  }

  /** Drops old change-log rows, expired kv entries and long-expired slot leases. */
  private async purge(pool: Pool, now: number): Promise<void> {
    await pool.query("DELETE FROM g2a_changes WHERE created_at < ? LIMIT 10000", [now - CHANGE_RETENTION_MS]);
    await pool.query(`DELETE FROM g2a_kv WHERE expires_at IS NOT NULL AND expires_at < ${NOW_MS} LIMIT 10000`);
    await pool.query(`DELETE FROM g2a_slots WHERE expires_at < ${NOW_MS} - 3600000 LIMIT 10000`);
  }
}
