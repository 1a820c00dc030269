import type { GrokSettings } from "../config/settings-schema.js";
import type { Source } from "../core/events.js";
import type { Turn } from "../core/turn.js";
import type { ProxyError } from "../errors.js";
import type { FinishReason, OutputOp, OutputToolCall, UrlCitation } from "./shape-output.js";

/**
 * The contract between the one turn runner (src/server/runner/turn-runner.ts) and a client
 * protocol. An adapter is a folder of small pure functions: parse the wire request into a Turn,
 * render output ops as stream frames, render the final body, render errors. It never leases,
 * retries, times out or writes to a socket: the runner does that for every protocol.
 */

/** Estimated token counts (grok.com reports none; see estimate-tokens.ts). */
export interface TurnUsage {
  inputTokens: number;
  outputTokens: number;
  reasoningTokens: number;
}

/** Everything the turn produced, when it is over. */
export interface TurnSummary {
  text: string;
  reasoning: string;
  citations: UrlCitation[];
  sources: Source[];
  toolCalls: OutputToolCall[];
  finish: FinishReason;
  stopSequence: string | null;
  usage: TurnUsage;
}

/** One SSE event: `event:` line when named; `data` is JSON-encoded unless it is a string. */
export interface SseFrame {
  event?: string;
  data: unknown;
}

export interface RenderContext {
  turn: Turn;
  requestId: string;
  /** The catalogue model that serves the turn (the client's id may have been mapped). */
  servedModel: string;
  settings: GrokSettings;
  /** Estimated prompt tokens, known before any output (Anthropic's message_start carries it). */
  promptTokens: number;
}

/** Per-stream state of one protocol's renderer. */
export interface StreamRenderer {
  /** Frames for output ops (the renderer opens its message/response lazily on the first call). */
  ops(ops: OutputOp[]): SseFrame[];
  /** The closing frames after the last op, including the protocol's end sentinel. */
  finish(summary: TurnSummary): SseFrame[];
  /** In-band error after the stream began. */
  error(err: ProxyError): SseFrame[];
  /** What to send after a silence: an SSE comment (string) or frames. */
  keepAlive(): string | SseFrame[];
}

export interface ProtocolAdapter {
  readonly id: string;
  /** Wire request → Turn. Throws ProxyError (400 naming the field) on bad input. */
  parse(body: unknown, meta: { query: Record<string, unknown>; headers: Record<string, string | string[] | undefined> }): Turn;
  stream(ctx: RenderContext): StreamRenderer;
  /** The non-stream response body. May be async (the Responses adapter stores what it returns). */
  final(summary: TurnSummary, ctx: RenderContext): unknown;
  /** Called once a streamed turn finished successfully (after the closing frames were sent). */
  afterStream?(summary: TurnSummary, ctx: RenderContext): Promise<void> | void;
  /** Error body and status in this protocol's shape. */
  renderError(err: ProxyError, requestId: string): { status: number; body: unknown };
  /** Headers on every response of this protocol (e.g. Anthropic's request-id). */
  headers?(requestId: string): Record<string, string>;
}
