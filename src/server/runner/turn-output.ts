import type { GrokSettings } from "../config/settings-schema.js";
import type { GrokEvent } from "../core/events.js";
import type { Turn } from "../core/turn.js";
import { ProxyError } from "../errors.js";
import type { TurnSummary } from "../protocols/adapter.js";
import { estimateTokens } from "../protocols/estimate-tokens.js";
import { type OutputOp, type OutputToolCall, OutputShaper } from "../protocols/shape-output.js";
import { RunawayGuard } from "../protocols/tools/runaway.js";
import { ToolSieve } from "../protocols/tools/sieve.js";

/**
 * Upstream events → output ops for any protocol: the tool-call sieve (envelopes out of the
 * text, held back until decided), then the shaper (citations, sources, stop sequences, token
 * limit, reasoning routing), with the runaway guard watching every delta.
 */
export class TurnOutput {
  private readonly shaper: OutputShaper;
  private readonly sieve: ToolSieve | null;
  private readonly runaway = new RunawayGuard();
  readonly toolCalls: OutputToolCall[] = [];

  constructor(
    private readonly turn: Turn,
    settings: GrokSettings,
    private readonly promptText: string,
  ) {
    this.shaper = new OutputShaper({ stop: turn.stop, maxTokens: turn.maxTokens, inlineCitations: settings.inline_citations, showSources: settings.show_search_sources });
    this.sieve = toolsActive(turn) ? new ToolSieve(turn.tools) : null;
  }

  /** True when nothing more should be read (stop sequence or token limit hit). */
  get done(): boolean {
    return this.shaper.done;
  }

  push(e: GrokEvent): OutputOp[] {
    if (e.type === "text" || (e.type === "reasoning" && !e.header)) {
      if (this.runaway.check(e.type, e.text)) throw runawayError(e.type);
    }
    if (e.type !== "text" || !this.sieve) return this.shaper.push(e);
    const r = this.sieve.push(e.text);
    return this.merge(r);
  }

  /** End of upstream output: releases held text and tool calls, then the shaper's tail. */
  end(): OutputOp[] {
    const ops = this.sieve ? this.merge(this.sieve.end()) : [];
    ops.push(...this.shaper.end());
    return ops;
  }

  private merge(r: { text: string; calls: OutputToolCall[] }): OutputOp[] {
    const ops = r.text ? this.shaper.push({ type: "text", text: r.text }) : [];
    if (this.shaper.done) return ops; // a stop sequence or the limit ended the output before any call
    for (const call of r.calls) {
      if (!this.turn.parallelToolCalls && this.toolCalls.length >= 1) break;
      this.toolCalls.push(call);
      ops.push({ kind: "tool_call", call });
    }
    return ops;
  }

  summary(): TurnSummary {
    const sh = this.shaper;
    const reasoningTokens = estimateTokens(sh.reasoning + sh.droppedReasoning);
    const callTokens = this.toolCalls.reduce((n, c) => n + estimateTokens(c.name) + estimateTokens(c.arguments), 0);
    const finish = this.toolCalls.length && sh.finish === null ? "tool_calls" : (sh.finish ?? "stop");
    return {
      text: sh.text,
      reasoning: sh.reasoning,
      citations: sh.citations,
      sources: sh.sources,
      toolCalls: this.toolCalls,
      finish,
      stopSequence: finish === "stop_sequence" ? sh.stopSequence : null,
      usage: { inputTokens: estimateTokens(this.promptText), outputTokens: estimateTokens(sh.text) + reasoningTokens + callTokens, reasoningTokens },
    };
  }
}

export function toolsActive(turn: Turn): boolean {
  return turn.tools.length > 0 && turn.toolChoice.type !== "none";
}

function runawayError(kind: "text" | "reasoning"): ProxyError {
  return new ProxyError(502, "upstream_error", `grok.com repeated the same ${kind} delta over and over; the stream was stopped (runaway output guard).`, { kind: "upstream_error" });
}
