/** Public types of the fake grok.com (see index.ts for the entry point). */

export type Tier = "basic" | "super" | "heavy";
export type SessionState = "authenticated" | "unauthenticated" | "blocked" | "http401";

export interface FakeAccountOptions {
  sso?: string;
  userId?: string;
  tier?: Tier;
  session?: SessionState;
}

export interface FakeAccount {
  sso: string;
  userId: string;
  tier: Tier;
}

export type ScenarioName =
  | "text" | "thinking" | "search" | "search-tags" | "search-no-tool-call-id" | "image-gen" | "image-gen-2025" | "imagine"
  | "image-edit" | "video" | "moderated" | "in-stream-rate-limit" | "usage-limit" | "http-429" | "http-401"
  | "403-html" | "403-empty" | "403-json-code7" | "403-json-code7-in-stream" | "403-blocked" | "http-500" | "empty-success" | "stalled"
  | "stalled-after-first" | "dropped" | "session-ended" | "split-utf8" | "slow" | "status-not-completed"
  | "conversation-not-found" | "stream-errors" | "markup";

export type Framing = "ndjson" | "sse" | "concatenated" | "sse-events";

export interface Scenario {
  name: ScenarioName;
  /** Answer text (default DEFAULT_TEXT; split-utf8 defaults to SPLIT_UTF8_TEXT, markup to MARKUP_TEXT). */
  text?: string;
  /** Reasoning text for "thinking"/"search" (default DEFAULT_REASONING). */
  reasoning?: string;
  /** Delay between frames ("slow": default SLOW_DELAY_MS; 0 for the others). */
  delayMs?: number;
  /** REST framing variant (default "ndjson"; the 2026 image card stream defaults to "sse"). */
  framing?: Framing;
  /** For "stalled": how many frames before silence (default 2). */
  stallAfterFrames?: number;
  /** For "http-429": send a Retry-After header. */
  retryAfterSeconds?: number;
  /**
   * Extension: alternative shape of a scenario.
   *  - dropped (gateway): "1011" closes with code 1011 instead of an abrupt 1006 termination.
   *  - imagine: "out-of-order" (completed before its final image), "close" (server closes after the round).
   *  - moderated (REST chat): "2025" uses streamingImageGenerationResponse frames instead of cards.
   *  - any successful REST script: "flat" sends token frames as {"result":{"token":…,"responseId":…}} (§4.3).
   */
  variant?: string;
}

export interface RecordedRequest {
  id: number;
  at: number;
  transport: "http" | "ws";
  method: string;
  path: string;
  query: Record<string, string>;
  /** Lower-case names. */
  headers: Record<string, string>;
  cookies: Record<string, string>;
  /** Parsed JSON when JSON, string/Buffer otherwise; multipart parsed into {fields, files}. */
  body?: unknown;
  /** sso of the authenticated account, if any. */
  account?: string;
  /** Scenario that served a chat turn (the last one for a multi-turn WS connection). */
  scenario?: ScenarioName;
  /** Client→server messages (parsed JSON) for WS connections, in order. */
  wsMessages?: unknown[];
  /** When validation rejected it (also logged). */
  rejected?: { status: number; reason: string };
  /** The client went away before the fake finished (abort tests). */
  clientClosedEarly?: boolean;
  /** Extension: which origin served it. */
  server?: "grok" | "assets" | "signer";
  /** Extension: server→client WS messages (parsed JSON), in order. */
  wsSent?: unknown[];
  /** Extension: arrival times (ms epoch) of gateway `ping` events. */
  wsPings?: number[];
  /** Extension: every scenario served on this request/connection, in order. */
  scenarios?: ScenarioName[];
}

export interface FakeGrokOptions {
  /** Default 0 (random). Assets and signer listen on their own random ports. */
  port?: number;
  /** Reject statsig values decoding to "e:…" with the 403 code-7 body (default true). */
  rejectE?: boolean;
  /** Accept "x1:" fallbacks (default true). */
  acceptX1?: boolean;
  /** GET /index answers 404 without meta to exercise the "/" fallback (default false). */
  indexReturns404?: boolean;
  /** UA must be identical across calls of one account (default false). */
  strictUserAgent?: boolean;
  /** Require a cf_clearance cookie bound to the UA first seen with it (default false). */
  requireCfClearance?: boolean;
  /** Extension: upload v2 answers only {uploadId}; fileMetadata via the status poll (default false). */
  asyncUploads?: boolean;
  /** Extension: x-xai-request-id must be unique per request (default false). */
  uniqueRequestIds?: boolean;
  /** Extension: the [2026-04] era, before `mediaGenInput.textToVideo` (§8.3): such bodies get a 400 (default false). */
  refuseTextToVideo?: boolean;
}

export interface QuotaEntry {
  remaining: number;
  total: number;
  windowSeconds: number;
  nextAvailableAt?: string;
}

export interface FakeGrok {
  /** grok.com origin, e.g. "http://127.0.0.1:41234" (REST and ws:// gateway on the same port). */
  readonly url: string;
  /** Assets origin (a separate listener). */
  readonly assetsUrl: string;
  /** Statsig signer stand-in origin: POST `${signerUrl}/sign`. */
  readonly signerUrl: string;
  /** Mutable at runtime. */
  readonly options: FakeGrokOptions;
  addAccount(opts?: FakeAccountOptions): FakeAccount;
  account(sso: string): (FakeAccount & { quota: Record<string, QuotaEntry> }) | undefined;
  setQuota(sso: string, mode: string, q: { remaining: number; total?: number; windowSeconds?: number; nextAvailableAt?: string }): void;
  setSession(sso: string, session: FakeAccountOptions["session"]): void;
  /** Queue outcomes for the next chat/media turns of an account ("*" = any account). FIFO; account queue first, then "*". */
  queue(sso: string | "*", ...scenarios: Array<Scenario | ScenarioName>): void;
  /** Scenario used when no queue entry applies (initially "text"). */
  setDefault(scenario: Scenario | ScenarioName): void;
  /** A function that sees each turn's prompt and may answer it (text or scenario); null removes it. */
  respond(fn: ((prompt: string) => Scenario | string | undefined) | null): void;
  /** Every request and WS connection, in arrival order. */
  readonly requests: RecordedRequest[];
  /** Chat turns only (REST conversations/new|responses, and WS /ws/mgw/ connections). */
  chatRequests(): RecordedRequest[];
  /** Currently open WS connections + still-streaming HTTP responses. */
  openConnections(): number;
  /** Clears requests, queues, default scenario, options back to the start options; keeps accounts. */
  reset(): void;
  close(): Promise<void>;
  /** Extension: bind a cf_clearance value to a UA (requireCfClearance); returns the value. */
  issueCfClearance(userAgent: string): string;
}
