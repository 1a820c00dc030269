import type { ProxyError } from "../../errors.js";
import type { RenderContext, SseFrame, StreamRenderer, TurnSummary, TurnUsage } from "../adapter.js";
import { renderOpenAIError } from "../openai/render.js";
import type { OutputOp, OutputToolCall, UrlCitation } from "../shape-output.js";
import { newCallId, newCustomCallItemId, newFunctionCallItemId, newLocalShellItemId, newMessageItemId, newReasoningItemId } from "./ids.js";
import { type ResponsesOptions, responsesOptions } from "./parse-request.js";
import { encodeReasoningBlob } from "./reasoning-blob.js";

/**
 * Responses API wire shapes (api-conformance.md §3.5): the Response object, its output items,
 * and the exact stream grammar —
 *
 *   response.created, response.in_progress,
 *   per item: response.output_item.added … response.output_item.done, with
 *     message:   content_part.added, output_text.delta*, (output_text.annotation.added)*, output_text.done, content_part.done
 *     reasoning: reasoning_summary_part.added, reasoning_summary_text.delta*, …text.done, …part.done (summary asked)
 *     function_call: function_call_arguments.delta, function_call_arguments.done
 *     custom_tool_call: custom_tool_call_input.delta, custom_tool_call_input.done
 *     local_shell_call: nothing in between
 *   then exactly one of response.completed / response.incomplete, or (after an upstream failure)
 *   an `error` event and response.failed — always last, sequence_number increasing from 0.
 */
type Obj = Record<string, unknown>;

export function usageObject(u: TurnUsage): Obj {
  return {
    input_tokens: u.inputTokens,
    input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 },
    output_tokens: u.outputTokens,
    output_tokens_details: { reasoning_tokens: u.reasoningTokens },
    total_tokens: u.inputTokens + u.outputTokens,
  };
}

/** Reasoning is output when shown (settings, reasoning.effort) and asked for (a summary, or encrypted_content). */
export function reasoningWanted(ctx: RenderContext): { summary: boolean; encrypted: boolean } | null {
  const o = responsesOptions(ctx.turn);
  if (!ctx.settings.show_thinking || ctx.turn.hideReasoning) return null;
  if (!o.summary && !o.includeEncrypted) return null;
  return { summary: o.summary !== null, encrypted: o.includeEncrypted };
}

export const urlAnnotation = (c: UrlCitation, base: number): Obj => ({ type: "url_citation", url: c.url, title: c.title ?? c.url, start_index: c.start - base, end_index: c.end - base });

export function reasoningItem(id: string, text: string, want: { summary: boolean; encrypted: boolean }): Obj {
  const item: Obj = { id, type: "reasoning", summary: want.summary ? [{ type: "summary_text", text }] : [] };
  if (want.encrypted) item.encrypted_content = encodeReasoningBlob({ id, text });
  return item;
}

export function messageItem(id: string, text: string, annotations: Obj[], status: "completed" | "incomplete" | "in_progress"): Obj {
  return { id, type: "message", status, role: "assistant", content: status === "in_progress" ? [] : [{ type: "output_text", text, annotations, logprobs: [] }] };
}

/** JSON arguments of a freeform call → its text (`{input}` from the tool sieve; anything else as it came). */
function freeformInput(args: string): string {
  let v: unknown;
  try {
    v = JSON.parse(args);
  } catch {
    return args;
  }
  return v && typeof v === "object" && typeof (v as Obj).input === "string" ? ((v as Obj).input as string) : args;
}

/** The output item a tool call becomes (function_call, custom_tool_call or local_shell_call), finished. */
export function toolCallItem(call: OutputToolCall, o: ResponsesOptions): Obj {
  const w = o.wire[call.name] ?? { kind: "function", name: call.name };
  const callId = newCallId();
  if (w.kind === "custom") {
    const item: Obj = { id: newCustomCallItemId(), type: "custom_tool_call", status: "completed", call_id: callId, name: w.name, input: freeformInput(call.arguments) };
    if (w.namespace) item.namespace = w.namespace;
    return item;
  }
  if (w.kind === "local_shell") {
    let a: Obj = {};
    try {
      a = JSON.parse(call.arguments) as Obj;
    } catch {
      /* the sieve hands over JSON objects only */
    }
    const command = Array.isArray(a.command) ? a.command.map(String) : typeof a.command === "string" ? ["bash", "-lc", a.command] : [];
    const action: Obj = { type: "exec", command, env: {}, timeout_ms: typeof a.timeout_ms === "number" ? Math.round(a.timeout_ms) : null, working_directory: typeof a.workdir === "string" ? a.workdir : null, user: null };
    return { id: newLocalShellItemId(), type: "local_shell_call", status: "completed", call_id: callId, action };
  }
  const item: Obj = { id: newFunctionCallItemId(), type: "function_call", status: "completed", call_id: callId, name: w.name, arguments: call.arguments };
  if (w.namespace) item.namespace = w.namespace;
  return item;
}

/** The Response object for a given status and output. */
export function responseObject(ctx: RenderContext, p: { status: "in_progress" | "completed" | "incomplete" | "failed"; output: Obj[]; usage: TurnUsage | null; error?: Obj | null }): Obj {
  const o = responsesOptions(ctx.turn);
  return {
    id: o.id,
    object: "response",
    created_at: o.createdAt,
    status: p.status,
    completed_at: p.status === "completed" ? Math.floor(Date.now() / 1000) : null,
    error: p.error ?? null,
    incomplete_details: p.status === "incomplete" ? { reason: "max_output_tokens" } : null,
    model: ctx.turn.model,
    output: p.output,
    ...(p.usage ? { usage: usageObject(p.usage) } : {}), // ResponseUsage is not nullable: absent until known
    ...o.echo,
  };
}

/** Terminal status of a finished turn: the token limit makes it incomplete. */
export const finalStatus = (s: TurnSummary): "completed" | "incomplete" => (s.finish === "length" ? "incomplete" : "completed");

/** The error of a failed response: ResponseErrorCode has only a few codes that fit. */
export function responseError(err: ProxyError): Obj {
  return { code: err.status === 429 ? "rate_limit_exceeded" : "server_error", message: err.expose ? err.message : "Internal server error" };
}

/** The non-stream Response: the same items, in the same order, as the stream would carry. */
export function renderResponse(summary: TurnSummary, ctx: RenderContext): Obj {
  const o = responsesOptions(ctx.turn);
  const output: Obj[] = [];
  const want = reasoningWanted(ctx);
  if (want && summary.reasoning) output.push(reasoningItem(newReasoningItemId(), summary.reasoning, want));
  const status = finalStatus(summary);
  if (summary.text || !summary.toolCalls.length) output.push(messageItem(newMessageItemId(), summary.text, summary.citations.map((c) => urlAnnotation(c, 0)), status));
  for (const c of summary.toolCalls) output.push(toolCallItem(c, o));
  return responseObject(ctx, { status, output, usage: summary.usage });
}

type OpenReasoning = { kind: "reasoning"; index: number; id: string; text: string };
type OpenMessage = { kind: "message"; index: number; id: string; text: string; base: number; annotations: Obj[] };
type Open = OpenReasoning | OpenMessage;

/** Per-stream state of one response: lazily opened, items closed in order, one terminal event. */
export class ResponsesStream implements StreamRenderer {
  private seq = 0;
  private started = false;
  private ended = false;
  private open: Open | null = null;
  private reasoningDone = false;
  /** Answer text seen so far (citation offsets are into the whole answer). */
  private answerLength = 0;
  readonly output: Obj[] = [];
  /** The Response object of the terminal event, once sent (stored by afterStream). */
  final: Obj | null = null;
  private readonly o: ResponsesOptions;
  private readonly want: { summary: boolean; encrypted: boolean } | null;

  constructor(private readonly ctx: RenderContext) {
    this.o = responsesOptions(ctx.turn);
    this.want = reasoningWanted(ctx);
  }

  private ev(type: string, fields: Obj): SseFrame {
    return { event: type, data: { type, sequence_number: this.seq++, ...fields } };
  }

  private start(): SseFrame[] {
    if (this.started) return [];
    this.started = true;
    const r = responseObject(this.ctx, { status: "in_progress", output: [], usage: null });
    return [this.ev("response.created", { response: r }), this.ev("response.in_progress", { response: r })];
  }

  private close(status: "completed" | "incomplete" = "completed"): SseFrame[] {
    const open = this.open;
    if (!open) return [];
    this.open = null;
    const out: SseFrame[] = [];
    if (open.kind === "reasoning") {
      this.reasoningDone = true;
      const ids = { item_id: open.id, output_index: open.index, summary_index: 0 };
      if (this.want!.summary) {
        out.push(this.ev("response.reasoning_summary_text.done", { ...ids, text: open.text }));
        out.push(this.ev("response.reasoning_summary_part.done", { ...ids, part: { type: "summary_text", text: open.text } }));
      }
      const item = reasoningItem(open.id, open.text, this.want!);
      this.output.push(item);
      out.push(this.ev("response.output_item.done", { output_index: open.index, item }));
      return out;
    }
    const ids = { item_id: open.id, output_index: open.index, content_index: 0 };
    const part = { type: "output_text", text: open.text, annotations: open.annotations, logprobs: [] };
    out.push(this.ev("response.output_text.done", { ...ids, text: open.text, logprobs: [] }));
    out.push(this.ev("response.content_part.done", { ...ids, part }));
    const item = messageItem(open.id, open.text, open.annotations, status);
    this.output.push(item);
    out.push(this.ev("response.output_item.done", { output_index: open.index, item }));
    return out;
  }

  private nextIndex(): number {
    return this.output.length;
  }

  private openMessage(): SseFrame[] {
    const out = this.close();
    const open: OpenMessage = { kind: "message", index: this.nextIndex(), id: newMessageItemId(), text: "", base: this.answerLength, annotations: [] };
    this.open = open;
    out.push(this.ev("response.output_item.added", { output_index: open.index, item: messageItem(open.id, "", [], "in_progress") }));
    out.push(this.ev("response.content_part.added", { item_id: open.id, output_index: open.index, content_index: 0, part: { type: "output_text", text: "", annotations: [], logprobs: [] } }));
    return out;
  }

  private toolCall(call: OutputToolCall): SseFrame[] {
    const out = this.close();
    const done = toolCallItem(call, this.o);
    const index = this.nextIndex();
    const id = String(done.id);
    if (done.type === "function_call") {
      out.push(this.ev("response.output_item.added", { output_index: index, item: { ...done, status: "in_progress", arguments: "" } }));
      out.push(this.ev("response.function_call_arguments.delta", { item_id: id, output_index: index, delta: done.arguments }));
      out.push(this.ev("response.function_call_arguments.done", { item_id: id, output_index: index, name: done.name, arguments: done.arguments }));
    } else if (done.type === "custom_tool_call") {
      out.push(this.ev("response.output_item.added", { output_index: index, item: { ...done, status: "in_progress", input: "" } }));
      out.push(this.ev("response.custom_tool_call_input.delta", { item_id: id, output_index: index, delta: done.input }));
      out.push(this.ev("response.custom_tool_call_input.done", { item_id: id, output_index: index, input: done.input }));
    } else out.push(this.ev("response.output_item.added", { output_index: index, item: { ...done, status: "in_progress" } }));
    this.output.push(done);
    out.push(this.ev("response.output_item.done", { output_index: index, item: done }));
    return out;
  }

  ops(ops: OutputOp[]): SseFrame[] {
    if (this.ended) return [];
    const out = this.start();
    for (const op of ops) {
      if (op.kind === "reasoning") {
        if (!this.want || (this.reasoningDone && this.open?.kind !== "reasoning")) continue;
        let open = this.open?.kind === "reasoning" ? this.open : null;
        if (!open) {
          out.push(...this.close());
          open = { kind: "reasoning", index: this.nextIndex(), id: newReasoningItemId(), text: "" };
          this.open = open;
          out.push(this.ev("response.output_item.added", { output_index: open.index, item: { id: open.id, type: "reasoning", summary: [] } }));
          if (this.want.summary) out.push(this.ev("response.reasoning_summary_part.added", { item_id: open.id, output_index: open.index, summary_index: 0, part: { type: "summary_text", text: "" } }));
        }
        open.text += op.text;
        if (this.want.summary) out.push(this.ev("response.reasoning_summary_text.delta", { item_id: open.id, output_index: open.index, summary_index: 0, delta: op.text }));
        continue;
      }
      if (op.kind === "text") {
        if (this.open?.kind !== "message") out.push(...this.openMessage());
        const open = this.open as OpenMessage;
        open.text += op.text;
        this.answerLength += op.text.length;
        out.push(this.ev("response.output_text.delta", { item_id: open.id, output_index: open.index, content_index: 0, delta: op.text, logprobs: [] }));
        for (const c of op.citations) {
          const annotation = urlAnnotation(c, open.base);
          open.annotations.push(annotation);
          out.push(this.ev("response.output_text.annotation.added", { item_id: open.id, output_index: open.index, content_index: 0, annotation_index: open.annotations.length - 1, annotation }));
        }
        continue;
      }
      out.push(...this.toolCall(op.call));
    }
    return out;
  }

  finish(summary: TurnSummary): SseFrame[] {
    if (this.ended) return [];
    const status = finalStatus(summary);
    const out = [...this.start(), ...this.close(status)];
    if (!this.output.some((i) => i.type !== "reasoning")) {
      out.push(...this.openMessage());
      out.push(...this.close(status));
    }
    this.ended = true;
    this.final = responseObject(this.ctx, { status, output: this.output, usage: summary.usage });
    out.push(this.ev(status === "completed" ? "response.completed" : "response.incomplete", { response: this.final }));
    return out;
  }

  error(err: ProxyError): SseFrame[] {
    if (this.ended) return [];
    const out = this.start();
    this.open = null; // an unfinished item is not part of a failed response
    this.ended = true;
    const e = renderOpenAIError(err).error;
    out.push(this.ev("error", { code: e.code ?? e.type, message: e.message, param: e.param }));
    out.push(this.ev("response.failed", { response: responseObject(this.ctx, { status: "failed", output: this.output, usage: null, error: responseError(err) }) }));
    return out;
  }

  /** The first silence opens the response (created, in_progress), as OpenAI sends them at once; later ones are comments. */
  keepAlive(): string | SseFrame[] {
    if (this.ended) return ": keep-alive\n\n";
    const start = this.start();
    return start.length ? start : ": keep-alive\n\n";
  }
}
