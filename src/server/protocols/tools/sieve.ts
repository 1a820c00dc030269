import type { ToolSpec } from "../../core/turn.js";
import { type ParsedCall, parseEnvelope } from "./envelope.js";
import { EnvelopeScanner, type ScanSegment } from "./scan.js";

export type { ParsedCall } from "./envelope.js";

export interface SieveOutput {
  /** Prose to pass on to the client now. */
  text: string;
  /** Calls completed by this delta. */
  calls: ParsedCall[];
}

/**
 * The streaming side of tool calling (docs/tool-calling.md, "Streaming"). Feed it the answer's
 * text deltas; it returns the prose that may go to the client now and the calls completed.
 *
 * - Prose streams out at once, except what may be the start of an envelope (a `<`, a backtick
 *   fence or a `{` that could open one), held until decided, and a trailing run of whitespace,
 *   held until something other than an envelope follows (so the prose before a call does not end
 *   in blank lines).
 * - A completed envelope yields its calls; its markup never reaches the text. An envelope that
 *   yields no call (undeclared tool, unreadable arguments) is released as text, unchanged.
 * - Once calls were seen, later prose (and rejected envelopes) is dropped: the answer is a tool
 *   round now. Later envelopes are still parsed.
 * - `parallel: false` passes on only the first call.
 * - Disabled (`enabled: false`, or no tools): every delta passes through unchanged.
 *
 * Each push costs O(delta) (see scan.ts); an envelope still open after HOLD_LIMIT characters is
 * decided at end(), where an unclosed one is repaired or released as text.
 */
export class ToolSieve {
  private readonly scanner = new EnvelopeScanner();
  private readonly enabled: boolean;
  private readonly parallel: boolean;
  private ws = "";
  private seen = false;
  private emitted = 0;

  constructor(
    private readonly tools: ToolSpec[],
    opts: { enabled?: boolean; parallel?: boolean } = {},
  ) {
    this.enabled = (opts.enabled ?? true) && tools.length > 0;
    this.parallel = opts.parallel ?? true;
  }

  /** True once any call came out. */
  get sawCalls(): boolean {
    return this.seen;
  }

  push(delta: string): SieveOutput {
    if (!this.enabled) return { text: delta, calls: [] };
    return this.take(this.scanner.push(delta), false);
  }

  end(): SieveOutput {
    if (!this.enabled) return { text: "", calls: [] };
    return this.take(this.scanner.end(), true);
  }

  private take(segments: ScanSegment[], final: boolean): SieveOutput {
    let text = "";
    const calls: ParsedCall[] = [];
    for (const seg of segments) {
      if (seg.kind === "text") {
        text += this.prose(seg.text);
        continue;
      }
      const r = parseEnvelope(seg.raw, this.tools);
      if (!r.calls.length) {
        text += this.prose(seg.raw);
        continue;
      }
      this.seen = true;
      this.ws = "";
      for (const c of r.calls) {
        if (!this.parallel && this.emitted >= 1) break;
        calls.push(c);
        this.emitted++;
      }
    }
    if (final) {
      if (!this.seen) text += this.ws;
      this.ws = "";
    }
    return { text, calls };
  }

  private prose(t: string): string {
    if (this.seen) return "";
    const s = this.ws + t;
    let k = s.length;
    while (k > 0 && /\s/.test(s[k - 1]!)) k--;
    this.ws = s.slice(k);
    return s.slice(0, k);
  }
}
