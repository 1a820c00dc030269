import { randomBytesPooled } from "../../core/random.js";
import type { ProxyError } from "../../errors.js";
import type { RenderContext, SseFrame, StreamRenderer, TurnSummary } from "../adapter.js";
import type { FinishReason, OutputOp } from "../shape-output.js";

/**
 * Anthropic Messages wire shapes (api-conformance.md §4.3–§4.5). Thinking is shown as thinking
 * blocks, or — with `display:"omitted"` — as a block carrying only a signature. Signatures are
 * opaque strings this proxy invents and never checks when they come back.
 */
const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
function base62(n: number): string {
  const bytes = randomBytesPooled(n);
  let s = "";
  for (const b of bytes) s += BASE62[b % 62];
  return s;
}
export const newMessageId = () => `msg_${base62(24)}`;
export const newToolUseId = () => `toolu_${base62(24)}`;
export const newSignature = () => Buffer.from(`g2a-thinking-${base62(32)}`).toString("base64");

export function stopReason(f: FinishReason): "end_turn" | "max_tokens" | "stop_sequence" | "tool_use" {
  return f === "length" ? "max_tokens" : f === "stop_sequence" ? "stop_sequence" : f === "tool_calls" ? "tool_use" : "end_turn";
}

const showThinking = (ctx: RenderContext) => ctx.settings.show_thinking && !ctx.turn.hideReasoning;
const omitted = (ctx: RenderContext) => ctx.turn.extra.thinkingDisplay === "omitted";

const ev = (data: Record<string, unknown> & { type: string }): SseFrame => ({ event: data.type, data });

/** Stream state: message_start once, contiguous blocks each stopped before the next, message_delta + message_stop last. */
export class AnthropicStream implements StreamRenderer {
  private readonly id = newMessageId();
  private started = false;
  private index = -1;
  private open: "thinking" | "text" | null = null;
  private sawThinking = false;

  constructor(private readonly ctx: RenderContext) {}

  private start(): SseFrame[] {
    if (this.started) return [];
    this.started = true;
    const message = { id: this.id, type: "message", role: "assistant", model: this.ctx.turn.model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: this.ctx.promptTokens, output_tokens: 1 } };
    return [ev({ type: "message_start", message })];
  }

  private close(): SseFrame[] {
    if (this.open === null) return [];
    const out: SseFrame[] = [];
    if (this.open === "thinking") out.push(ev({ type: "content_block_delta", index: this.index, delta: { type: "signature_delta", signature: newSignature() } }));
    out.push(ev({ type: "content_block_stop", index: this.index }));
    this.open = null;
    return out;
  }

  private begin(block: Record<string, unknown>): SseFrame[] {
    const out = this.close();
    this.index++;
    out.push(ev({ type: "content_block_start", index: this.index, content_block: block }));
    return out;
  }

  ops(ops: OutputOp[]): SseFrame[] {
    const out = this.start();
    for (const op of ops) {
      if (op.kind === "reasoning") {
        if (!showThinking(this.ctx) || this.sawThinking && this.open !== "thinking") continue;
        if (this.open !== "thinking") {
          out.push(...this.begin({ type: "thinking", thinking: "", signature: "" }));
          this.open = "thinking";
          this.sawThinking = true;
        }
        if (!omitted(this.ctx)) out.push(ev({ type: "content_block_delta", index: this.index, delta: { type: "thinking_delta", thinking: op.text } }));
        continue;
      }
      if (op.kind === "text") {
        if (this.open !== "text") {
          out.push(...this.begin({ type: "text", text: "" }));
          this.open = "text";
        }
        out.push(ev({ type: "content_block_delta", index: this.index, delta: { type: "text_delta", text: op.text } }));
        continue;
      }
      out.push(...this.begin({ type: "tool_use", id: newToolUseId(), name: op.call.name, input: {} }));
      out.push(ev({ type: "content_block_delta", index: this.index, delta: { type: "input_json_delta", partial_json: op.call.arguments } }));
      out.push(ev({ type: "content_block_stop", index: this.index }));
    }
    return out;
  }

  finish(summary: TurnSummary): SseFrame[] {
    const out = [...this.start(), ...this.close()];
    if (this.index < 0) out.push(...this.begin({ type: "text", text: "" }), ev({ type: "content_block_stop", index: this.index }));
    out.push(
      ev({ type: "message_delta", delta: { stop_reason: stopReason(summary.finish), stop_sequence: summary.stopSequence }, usage: { input_tokens: summary.usage.inputTokens, output_tokens: summary.usage.outputTokens } }),
      ev({ type: "message_stop" }),
    );
    return out;
  }

  error(err: ProxyError): SseFrame[] {
    return [ev(anthropicErrorBody(err, null))];
  }

  keepAlive(): SseFrame[] {
    return [...this.start(), ev({ type: "ping" })];
  }
}

/** The non-stream `message` object: the same blocks as the stream, in the same order. */
export function renderMessage(summary: TurnSummary, ctx: RenderContext): Record<string, unknown> {
  const content: Record<string, unknown>[] = [];
  if (summary.reasoning && showThinking(ctx)) content.push({ type: "thinking", thinking: omitted(ctx) ? "" : summary.reasoning, signature: newSignature() });
  if (summary.text || !summary.toolCalls.length) content.push({ type: "text", text: summary.text, citations: null });
  for (const c of summary.toolCalls) content.push({ type: "tool_use", id: newToolUseId(), name: c.name, input: JSON.parse(c.arguments) as unknown });
  return {
    id: newMessageId(),
    type: "message",
    role: "assistant",
    model: ctx.turn.model,
    content,
    stop_reason: stopReason(summary.finish),
    stop_sequence: summary.stopSequence,
    usage: { input_tokens: summary.usage.inputTokens, output_tokens: summary.usage.outputTokens, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
  };
}

const TYPE_BY_STATUS: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  402: "billing_error",
  403: "permission_error",
  404: "not_found_error",
  413: "request_too_large",
  429: "rate_limit_error",
  500: "api_error",
  504: "timeout_error",
  529: "overloaded_error",
};

/** A 429 whose accounts free up within this long stays a 429; longer (or unknown) is 529 overloaded. */
const RATE_LIMIT_SOON_MS = 30_000;

export function anthropicStatus(err: ProxyError): number {
  if (err.status === 429 && (err.retryAfterMs === null || err.retryAfterMs > RATE_LIMIT_SOON_MS)) return 529;
  return err.status;
}

export function anthropicErrorBody(err: ProxyError, requestId: string | null): { type: "error"; error: { type: string; message: string }; request_id?: string | null } {
  const status = anthropicStatus(err);
  const type = TYPE_BY_STATUS[status] ?? (status >= 500 ? "api_error" : "invalid_request_error");
  const message = err.expose ? err.message : "Internal server error";
  return requestId === null ? { type: "error", error: { type, message } } : { type: "error", error: { type, message }, request_id: requestId };
}
