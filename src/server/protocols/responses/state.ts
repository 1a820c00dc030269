import type { Logger } from "../../log.js";
import type { Store } from "../../store/types.js";
import { RESPONSE_ID_RE } from "./ids.js";

/**
 * Stored responses (`store`, default true): the Response object, this request's input items and
 * the items of the chain before it, as one JSON value in the configured Store's key/value space
 * (file, MySQL or Redis — so a previous_response_id works on any instance sharing the store),
 * expiring after `grok.responses_ttl_hours`. A record larger than MAX_STORED_BYTES is not stored
 * (logged): a later previous_response_id naming it gets the 404 of an unknown id.
 */
type Obj = Record<string, unknown>;

export const MAX_STORED_BYTES = 4 * 1024 * 1024;
const KEY_PREFIX = "responses:";

export interface StoredResponse {
  response: Obj;
  /** This request's input items (ids added). */
  input: Obj[];
  /** The earlier chain's items (input and output of each previous response, oldest first). */
  history: Obj[];
}

/** The items a follow-up with previous_response_id = this response continues from. */
export const conversationItems = (r: StoredResponse): Obj[] => [...r.history, ...r.input, ...((r.response.output as Obj[] | undefined) ?? [])];

export class ResponsesState {
  constructor(
    private readonly store: Store,
    private readonly ttlHours: () => number,
    private readonly log: Logger,
    private readonly maxBytes = MAX_STORED_BYTES,
  ) {}

  /** Stores a finished response; false when it was too large (logged) or the store failed (logged). */
  async save(r: StoredResponse): Promise<boolean> {
    const id = String(r.response.id);
    const json = JSON.stringify(r);
    const bytes = Buffer.byteLength(json);
    if (bytes > this.maxBytes) {
      this.log.warn("response not stored: larger than the cap", { id, bytes, cap: this.maxBytes });
      return false;
    }
    try {
      await this.store.kvSet(KEY_PREFIX + id, json, Math.max(1, this.ttlHours()) * 3_600_000);
      return true;
    } catch (err) {
      this.log.error("response not stored: the store failed", { id, message: (err as Error).message });
      return false;
    }
  }

  /** A stored response, or null (unknown, expired, deleted, never stored, or not an id of ours). */
  async load(id: string): Promise<StoredResponse | null> {
    if (!RESPONSE_ID_RE.test(id)) return null;
    const raw = await this.store.kvGet(KEY_PREFIX + id);
    if (raw === null) return null;
    try {
      const r = JSON.parse(raw) as StoredResponse;
      if (!r || typeof r !== "object" || !r.response || !Array.isArray(r.input) || !Array.isArray(r.history)) throw new Error("bad shape");
      return r;
    } catch (err) {
      this.log.warn("stored response unreadable; treated as unknown", { id, message: (err as Error).message });
      return null;
    }
  }

  /** Deletes; false when there was nothing to delete. */
  async delete(id: string): Promise<boolean> {
    if (!(await this.load(id))) return false;
    await this.store.kvDelete(KEY_PREFIX + id);
    return true;
  }
}
