import { randomText } from "../../core/random.js";
import type { ErrorCode, ProxyError } from "../../errors.js";
import type { TurnSummary, TurnUsage } from "../adapter.js";
import type { FinishReason, OutputOp, UrlCitation } from "../shape-output.js";

/**
 * OpenAI chat completion wire shapes (api-conformance.md §2.2–2.4, §2.6, §2.8).
 * ThinkingOutput decides where reasoning goes: `reasoning_content` (default), `reasoning`,
 * `think-tags` (inside content, tags in chunks of their own) or `hidden`.
 */
export type ThinkingOutput = "reasoning_content" | "reasoning" | "think-tags" | "hidden";

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  completion_tokens_details: { reasoning_tokens: number };
}

export function usageFor(u: TurnUsage): Usage {
  return { prompt_tokens: u.inputTokens, completion_tokens: u.outputTokens, total_tokens: u.inputTokens + u.outputTokens, completion_tokens_details: { reasoning_tokens: u.reasoningTokens } };
}

/** OpenAI's finish_reason for a turn's finish (a stop sequence is "stop"). */
export function finishReason(f: FinishReason): "stop" | "length" | "tool_calls" {
  return f === "stop_sequence" ? "stop" : f;
}

export const newToolCallId = () => `call_${randomText(12, "base64url")}`;

const annotation = (c: UrlCitation) => ({ type: "url_citation", url_citation: { start_index: c.start, end_index: c.end, url: c.url, title: c.title ?? c.url } });

export const newCompletionId = () => `chatcmpl-${randomText(12, "base64url")}`;

/** Per-stream state: one id/created/model for every chunk, role first, one finish chunk. */
export class OpenAIChunkWriter {
  readonly id = newCompletionId();
  readonly created = Math.floor(Date.now() / 1000);
  private started = false;
  private inThink = false;
  private contentStarted = false;
  private toolIndex = 0;

  constructor(
    private readonly model: string,
    private readonly thinking: ThinkingOutput,
    private readonly includeUsage: boolean,
  ) {}

  private chunk(delta: Record<string, unknown>, finish: string | null = null): Record<string, unknown> {
    const c: Record<string, unknown> = {
      id: this.id,
      object: "chat.completion.chunk",
      created: this.created,
      model: this.model,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    };
    if (this.includeUsage) c.usage = null;
    return c;
  }

  /** The first chunk: role and empty content. */
  start(): Record<string, unknown>[] {
    if (this.started) return [];
    this.started = true;
    return [this.chunk({ role: "assistant", content: "" })];
  }

  ops(ops: OutputOp[]): Record<string, unknown>[] {
    const out = this.start();
    for (const op of ops) {
      if (op.kind === "reasoning") {
        if (this.thinking === "hidden" || this.contentStarted) continue;
        if (this.thinking === "think-tags") {
          if (!this.inThink) {
            this.inThink = true;
            out.push(this.chunk({ content: "<think>\n" }));
          }
          out.push(this.chunk({ content: op.text }));
        } else out.push(this.chunk({ [this.thinking]: op.text }));
        continue;
      }
      out.push(...this.closeThink());
      this.contentStarted = true;
      if (op.kind === "tool_call") {
        const index = this.toolIndex++;
        out.push(this.chunk({ tool_calls: [{ index, id: newToolCallId(), type: "function", function: { name: op.call.name, arguments: "" } }] }));
        out.push(this.chunk({ tool_calls: [{ index, function: { arguments: op.call.arguments } }] }));
        continue;
      }
      const delta: Record<string, unknown> = { content: op.text };
      if (op.citations.length) delta.annotations = op.citations.map(annotation);
      out.push(this.chunk(delta));
    }
    return out;
  }

  private closeThink(): Record<string, unknown>[] {
    if (!this.inThink) return [];
    this.inThink = false;
    return [this.chunk({ content: "\n</think>\n\n" })];
  }

  finish(summary: TurnSummary): Record<string, unknown>[] {
    const usage = usageFor(summary.usage);
    const out = [...this.start(), ...this.closeThink(), this.chunk({}, finishReason(summary.finish))];
    if (this.includeUsage) out.push({ id: this.id, object: "chat.completion.chunk", created: this.created, model: this.model, choices: [], usage });
    return out;
  }
}

/** The non-stream `chat.completion` object. */
export function renderCompletion(model: string, summary: TurnSummary, thinking: ThinkingOutput, extras: { searchSources?: boolean } = {}): Record<string, unknown> {
  let content = summary.text;
  const message: Record<string, unknown> = { role: "assistant", content, refusal: null };
  if (summary.reasoning && thinking !== "hidden") {
    if (thinking === "think-tags") {
      content = `<think>\n${summary.reasoning}\n</think>\n\n${content}`;
      message.content = content;
    } else message[thinking] = summary.reasoning;
  }
  const shift = thinking === "think-tags" && summary.reasoning ? content.length - summary.text.length : 0;
  if (summary.citations.length) message.annotations = summary.citations.map((c) => annotation({ ...c, start: c.start + shift, end: c.end + shift }));
  if (summary.toolCalls.length) {
    if (!content) message.content = null;
    message.tool_calls = summary.toolCalls.map((c) => ({ id: newToolCallId(), type: "function", function: { name: c.name, arguments: c.arguments } }));
  }
  const body: Record<string, unknown> = {
    id: newCompletionId(),
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: finishReason(summary.finish) }],
    usage: usageFor(summary.usage),
  };
  if (extras.searchSources && summary.sources.length) body.search_sources = summary.sources;
  return body;
}

const TYPE_BY_STATUS: Record<number, string> = {
  400: "invalid_request_error",
  401: "invalid_request_error",
  403: "permission_error",
  404: "invalid_request_error",
  413: "invalid_request_error",
  429: "rate_limit_error",
};

const CODE_MAP: Partial<Record<ErrorCode, string>> = {
  invalid_value: "invalid_value",
  missing_field: "missing_required_parameter",
  invalid_json: "invalid_json",
  rate_limited: "rate_limit_exceeded",
  no_account: "no_account_available",
};

/** `{"error":{message,type,param,code}}` — all four keys present. */
export function renderOpenAIError(err: ProxyError): { error: { message: string; type: string; param: string | null; code: string | null } } {
  const type = TYPE_BY_STATUS[err.status] ?? (err.status === 503 ? "service_unavailable_error" : err.status >= 500 ? "server_error" : "invalid_request_error");
  return { error: { message: err.expose ? err.message : "Internal server error", type, param: err.param, code: CODE_MAP[err.code] ?? err.code } };
}
