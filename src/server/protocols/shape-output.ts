import type { GrokEvent, Source } from "../core/events.js";
import { estimateTokens, truncateToTokens } from "./estimate-tokens.js";

/**
 * Protocol-neutral output shaping between GrokEvents and a client protocol renderer:
 * inline citation markers with annotations, an optional sources list, stop sequences,
 * a max-token limit, reasoning routing, and generated images as Markdown (`![image](url)`
 * text ops, so every renderer shows them unchanged). Renderers only map the resulting ops onto
 * their wire shapes.
 */
export interface UrlCitation {
  url: string;
  title: string | null;
  /** Character offsets into the full answer text. */
  start: number;
  end: number;
}

/** A tool call parsed out of the answer (tools/sieve.ts); each protocol assigns its own id. */
export interface OutputToolCall {
  name: string;
  /** JSON text of an object. */
  arguments: string;
}

export type OutputOp =
  | { kind: "reasoning"; text: string }
  | { kind: "text"; text: string; citations: UrlCitation[] }
  | { kind: "tool_call"; call: OutputToolCall };

/** Why the output ended: natural end, token limit, a stop sequence (see `stopSequence`), or tool calls. */
export type FinishReason = "stop" | "length" | "stop_sequence" | "tool_calls";

export interface ShaperOptions {
  stop: string[];
  /** Limit on estimated answer tokens; null = none. */
  maxTokens: number | null;
  inlineCitations: boolean;
  showSources: boolean;
}

export class OutputShaper {
  /** The answer text sent so far. */
  text = "";
  reasoning = "";
  /** Reasoning received but not shown (after the answer began); still counted. */
  droppedReasoning = "";
  sources: Source[] = [];
  citations: UrlCitation[] = [];
  /** Set when a stop sequence or the token limit ended the output early. */
  finish: FinishReason | null = null;
  /** The stop sequence that ended the output (finish "stop_sequence"). */
  stopSequence: string | null = null;
  private held = ""; // tail kept back while it could be the start of a stop sequence
  private citationNumbers: Map<string, number> | null = null; // made at the first citation
  private readonly maxStop: number;
  /** An image was just shown: the next text starts on a paragraph of its own. */
  private afterImage = false;
  /** Characters of image Markdown in `text` (not tokens the model wrote). */
  imageChars = 0;
  /** The answer text without image Markdown: what the token limit counts. */
  private written = "";

  constructor(private readonly opts: ShaperOptions) {
    this.maxStop = Math.max(0, ...opts.stop.map((s) => s.length));
  }

  get done(): boolean {
    return this.finish !== null;
  }

  push(e: GrokEvent): OutputOp[] {
    if (this.done) return [];
    switch (e.type) {
      case "reasoning":
        if (e.header) return [];
        if (this.text || this.held) {
          this.droppedReasoning += e.text;
          return [];
        }
        this.reasoning += e.text;
        return [{ kind: "reasoning", text: e.text }];
      case "text":
        return this.addText(e.text, []);
      case "citation":
        return this.addCitation(e.url, e.title);
      case "sources":
        for (const s of e.sources) if (!this.sources.some((x) => x.url === s.url)) this.sources.push(s);
        return [];
      case "image":
        return e.final && e.servedUrl ? this.addImage(e.servedUrl) : [];
      default:
        return [];
    }
  }

  /** End of output: releases held text and appends the sources list when enabled. */
  end(): OutputOp[] {
    if (this.done) return [];
    const ops: OutputOp[] = [];
    if (this.held) {
      const t = this.held;
      this.held = "";
      ops.push(...this.emit(t, []));
    }
    if (!this.done && this.opts.showSources && this.sources.length) {
      const list = this.sources.map((s, i) => `${i + 1}. [${(s.title ?? s.url).replace(/[[\]]/g, "")}](${s.url})`).join("\n");
      ops.push(...this.emit(`\n\nSources:\n${list}`, []));
    }
    return ops;
  }

  /**
   * A generated image as a Markdown paragraph. Held text goes out first; the image itself is
   * neither cut by the token limit (a data: URL would break) nor searched for stop sequences.
   */
  private addImage(url: string): OutputOp[] {
    const ops: OutputOp[] = [];
    if (this.held) {
      const t = this.held;
      this.held = "";
      ops.push(...this.emit(t, []));
      if (this.done) return ops;
    }
    const sep = !this.text || this.text.endsWith("\n\n") ? "" : this.text.endsWith("\n") ? "\n" : "\n\n";
    const md = `${sep}![image](${url})`;
    this.text += md;
    this.imageChars += md.length;
    this.afterImage = true;
    ops.push({ kind: "text", text: md, citations: [] });
    return ops;
  }

  private addCitation(url: string, title: string | null): OutputOp[] {
    this.citationNumbers ??= new Map<string, number>();
    let n = this.citationNumbers.get(url);
    if (n === undefined) {
      n = this.citationNumbers.size + 1;
      this.citationNumbers.set(url, n);
    }
    const known = this.sources.find((s) => s.url === url);
    if (!this.opts.inlineCitations) return [];
    const marker = ` [[${n}]](${url})`;
    return this.addText(marker, [{ url, title: title ?? known?.title ?? null, start: 0, end: marker.length }]);
  }

  /** Adds text (with citations relative to it), holding back a possible stop-sequence prefix. */
  private addText(t: string, rel: UrlCitation[]): OutputOp[] {
    if (!t) return [];
    if (!this.maxStop) return this.emit(t, rel);
    const combined = this.held + t;
    const shift = this.held.length;
    const relShifted = rel.map((c) => ({ ...c, start: c.start + shift, end: c.end + shift }));
    const [hit, seq] = this.firstStop(combined);
    if (hit >= 0) {
      this.held = "";
      const ops = this.emit(combined.slice(0, hit), relShifted.filter((c) => c.end <= hit));
      if (this.finish === null) {
        this.finish = "stop_sequence";
        this.stopSequence = seq;
      }
      return ops;
    }
    const keep = Math.min(this.maxStop - 1, combined.length);
    const cut = combined.length - keep;
    this.held = combined.slice(cut);
    return this.emit(combined.slice(0, cut), relShifted.filter((c) => c.end <= cut));
  }

  private firstStop(s: string): [number, string | null] {
    let best = -1;
    let seq: string | null = null;
    for (const stop of this.opts.stop) {
      if (!stop) continue;
      const i = s.indexOf(stop);
      if (i >= 0 && (best < 0 || i < best)) {
        best = i;
        seq = stop;
      }
    }
    return [best, seq];
  }

  private emit(t: string, rel: UrlCitation[]): OutputOp[] {
    if (!t) return [];
    if (this.afterImage) {
      this.afterImage = false;
      const brk = t.startsWith("\n\n") ? "" : t.startsWith("\n") ? "\n" : "\n\n";
      t = brk + t;
      rel = rel.map((c) => ({ ...c, start: c.start + brk.length, end: c.end + brk.length }));
    }
    let out = t;
    if (this.opts.maxTokens !== null) {
      const budget = this.opts.maxTokens - estimateTokens(this.written);
      const cut = truncateToTokens(t, budget);
      if (cut.length < t.length) {
        out = cut;
        this.finish = "length";
        rel = rel.filter((c) => c.end <= cut.length);
      }
    }
    if (!out) return [];
    const base = this.text.length;
    const abs = rel.map((c) => ({ ...c, start: c.start + base, end: c.end + base }));
    this.text += out;
    this.written += out;
    this.citations.push(...abs);
    return [{ kind: "text", text: out, citations: abs }];
  }
}
