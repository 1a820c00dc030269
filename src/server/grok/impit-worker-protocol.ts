/**
 * Messages between the impit worker (impit-worker.ts) and the main thread (impit-worker-host.ts).
 * Types only: the worker runs under Node's own type stripping in a source checkout, where it can
 * import nothing of ours at run time — its settings arrive as `workerData`.
 */

export interface ImpitWorkerData {
  /** Absolute path of impit's entry file (resolved on the main thread, outside app.asar if unpacked). */
  impitPath: string;
  /** Stop reading a response while this many bytes are posted but not yet acknowledged… */
  highWaterBytes: number;
  /** …and read on once they are back at or below this. */
  lowWaterBytes: number;
  /** At most one batch of body chunks per this window (ms)… */
  flushMs: number;
  /** …unless this many bytes are waiting. */
  flushBytes: number;
}

/** A thrown error, keeping what error classification and logs look at. */
export interface WireError {
  name: string;
  message: string;
  code?: string | number;
  stack?: string;
  cause?: WireError;
}

/** main → worker */
export type ToWorker =
  | {
      t: "fetch";
      id: number;
      url: string;
      /** impit browser profile (impitProfileFor). */
      profile: string;
      proxyUrl?: string;
      method: string;
      headers: Record<string, string>;
      body?: string | Uint8Array;
    }
  /** Abort the request, or cancel the body being read. */
  | { t: "cancel"; id: number }
  /** The main side's consumer took `bytes` more of the body. */
  | { t: "ack"; id: number; bytes: number }
  /** Release every connection, then answer `closed` (the host terminates the worker after it). */
  | { t: "close" };

/** worker → main, always sent as a batch (one postMessage per flush) */
export type FromWorker =
  | { t: "head"; id: number; status: number; headers: Array<[string, string]> }
  /** Body bytes (the chunks of one window joined); `end` when the body is complete with them. */
  | { t: "data"; id: number; chunk: Uint8Array; end?: true }
  | { t: "end"; id: number }
  /** The request or its body failed (before `head`: the request was rejected). */
  | { t: "error"; id: number; error: WireError }
  | { t: "closed" };
