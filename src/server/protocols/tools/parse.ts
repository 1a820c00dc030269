import type { ToolSpec } from "../../core/turn.js";
import { type EnvelopeResult, type ParsedCall, parseEnvelope } from "./envelope.js";
import { scanText } from "./scan.js";

export type { ParsedCall } from "./envelope.js";

export interface ParseOptions {
  /** false: at most one call is returned (the first); later ones are dropped. Default true. */
  parallel?: boolean;
}

/** The text in order: prose, and envelopes with what was read from them. */
export type ParsePiece =
  | { kind: "text"; text: string }
  | { kind: "envelope"; raw: string; closed: boolean; result: EnvelopeResult };

export interface ToolParse {
  calls: ParsedCall[];
  /** Prose outside envelopes (see parseToolCalls). */
  text: string;
}

/** Closing tags of envelope elements left over in prose (a doubled `</tool_calls>`): removed once calls were found. */
const STRAY_CLOSERS = /<\/(?:[\w.-]+:)?(?:tool_calls|tool_call|function_calls|function_call|invoke)\s*>/g;

/** parseToolCalls with the pieces it was built from (for logs and tests). */
export function parseToolCallsDetailed(text: string, tools: ToolSpec[], opts: ParseOptions = {}): ToolParse & { pieces: ParsePiece[] } {
  if (!tools.length) return { calls: [], text, pieces: [{ kind: "text", text }] };
  const pieces: ParsePiece[] = scanText(text).map((seg) =>
    seg.kind === "text" ? seg : { kind: "envelope", raw: seg.raw, closed: seg.closed, result: parseEnvelope(seg.raw, tools) },
  );
  let calls = pieces.flatMap((p) => (p.kind === "envelope" ? p.result.calls : []));
  if (!calls.length) return { calls, text, pieces };
  if (opts.parallel === false) calls = calls.slice(0, 1);
  // Prose pieces (without stray envelope closing tags), and whatever an envelope handed back
  // (rejected items; the whole envelope when nothing in it was a call), each trimmed, joined by
  // a blank line.
  const prose: string[] = [];
  for (const p of pieces) {
    const t = p.kind === "text" ? p.text.replace(STRAY_CLOSERS, "") : p.result.calls.length ? p.result.rejected.map((r) => r.raw).join("\n") : p.raw;
    if (t.trim()) prose.push(t.trim());
  }
  return { calls, text: prose.join("\n\n"), pieces };
}

/**
 * Tool calls written in `text` (a whole answer), in any of the accepted envelopes
 * (docs/tool-calling.md), for the declared `tools` only, with checked arguments.
 *
 * `text` is the answer without the envelopes that produced calls. Without calls it is the input
 * unchanged; with calls, the prose pieces around them are trimmed and joined by a blank line,
 * and stray closing tags of envelope elements (a doubled `</tool_calls>`) are removed from them.
 * Envelopes that produced no call (undeclared tool, arguments that cannot be read or fail the
 * check) stay in the text as they were written; rejected items of an envelope that also produced
 * calls are kept as text too. No tools → no calls, text unchanged.
 */
export function parseToolCalls(text: string, tools: ToolSpec[], opts: ParseOptions = {}): ToolParse {
  const { calls, text: prose } = parseToolCallsDetailed(text, tools, opts);
  return { calls, text: prose };
}
