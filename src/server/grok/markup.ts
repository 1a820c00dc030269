/**
 * Streaming filter for upstream markup inside answer text (grok-protocol.md §3.5, §4.5 #7).
 *
 * - `<grok:render …>…</grok:render>`: removed; inline citation renders (type
 *   `render_inline_citation` or card_type `citation_card`) become a citation piece naming the card.
 * - `<xaiArtifact contentType="text/python" …>code</xaiArtifact>`: the tags are removed and the
 *   content kept as a fenced code block (the content is the answer; the tags are markup).
 * - `<xai:tool_usage_card>…</xai:tool_usage_card>` and any other tag named in `filtered_tags`:
 *   removed with its content.
 * Tag names match in any letter case; tags split across deltas are held back until complete.
 */
export type MarkupPiece = { kind: "text"; text: string } | { kind: "citation"; cardId: string };

const UNWRAP = new Set(["xaiartifact"]);
const MAX_HOLD = 1 << 20;

export class MarkupFilter {
  private buf = "";
  private readonly tags: string[];

  constructor(filteredTags: string[] = ["xaiartifact", "xai:tool_usage_card", "grok:render"]) {
    const set = new Set(["grok:render", "xaiartifact", "xai:tool_usage_card", ...filteredTags.map((t) => t.trim().toLowerCase()).filter(Boolean)]);
    this.tags = [...set];
  }

  push(delta: string): MarkupPiece[] {
    // fast path (most deltas): nothing held back and no tag can start in this one
    if (this.buf === "" && delta.indexOf("<") < 0) return delta ? [{ kind: "text", text: delta }] : [];
    this.buf += delta;
    return this.drain(false);
  }

  /** End of the turn: whatever is held back is resolved (an unterminated element is dropped, its text kept for artifacts). */
  end(): MarkupPiece[] {
    return this.drain(true);
  }

  private drain(final: boolean): MarkupPiece[] {
    const out: MarkupPiece[] = [];
    const emitText = (t: string) => {
      if (!t) return;
      const last = out[out.length - 1];
      if (last && last.kind === "text") last.text += t;
      else out.push({ kind: "text", text: t });
    };
    for (;;) {
      const lt = this.buf.indexOf("<");
      if (lt < 0) {
        emitText(this.buf);
        this.buf = "";
        break;
      }
      emitText(this.buf.slice(0, lt));
      this.buf = this.buf.slice(lt);
      const match = this.matchTag(this.buf);
      if (match === "no") {
        emitText("<");
        this.buf = this.buf.slice(1);
        continue;
      }
      if (match === "maybe") {
        if (final) {
          emitText(this.buf);
          this.buf = "";
        }
        break;
      }
      // A known tag starts here: find where its element ends.
      const { tag, closing } = match;
      const lower = this.buf.toLowerCase();
      const openEnd = lower.indexOf(">");
      if (openEnd < 0) {
        if (final || this.buf.length > MAX_HOLD) this.buf = "";
        break;
      }
      if (closing) {
        // stray closing tag
        this.buf = this.buf.slice(openEnd + 1);
        continue;
      }
      const openTag = this.buf.slice(0, openEnd + 1);
      if (openTag.endsWith("/>")) {
        this.handleElement(tag, openTag, "", out);
        this.buf = this.buf.slice(openEnd + 1);
        continue;
      }
      const closeAt = findClose(lower, tag, openEnd + 1);
      const closeEnd = closeAt >= 0 ? lower.indexOf(">", closeAt) : -1;
      if (closeEnd < 0) {
        if (final || this.buf.length > MAX_HOLD) {
          // unterminated: keep artifact content, drop everything else
          if (UNWRAP.has(tag)) this.handleElement(tag, openTag, this.buf.slice(openEnd + 1), out);
          this.buf = "";
        }
        break;
      }
      this.handleElement(tag, openTag, this.buf.slice(openEnd + 1, closeAt), out);
      this.buf = this.buf.slice(closeEnd + 1);
    }
    return out;
  }

  private handleElement(tag: string, openTag: string, inner: string, out: MarkupPiece[]): void {
    if (UNWRAP.has(tag)) {
      const type = /contenttype\s*=\s*"([^"]*)"/i.exec(openTag)?.[1] ?? "";
      const lang = type.includes("/") ? type.split("/").pop()!.replace(/[^a-z0-9+#-]/gi, "") : "";
      const body = inner.replace(/^\n+|\n+$/g, "");
      out.push({ kind: "text", text: "\n```" + lang + "\n" + body + "\n```\n" });
      return;
    }
    if (tag === "grok:render") {
      const isCitation = /render_inline_citation|citation_card/i.test(openTag);
      const cardId = /card_id\s*=\s*"([^"]*)"/i.exec(openTag)?.[1];
      if (isCitation && cardId) out.push({ kind: "citation", cardId });
    }
  }

  /** "no": not a known tag; "maybe": could still become one; else the tag found. */
  private matchTag(s: string): "no" | "maybe" | { tag: string; closing: boolean } {
    const lower = s.toLowerCase();
    const closing = lower.startsWith("</");
    const name = lower.slice(closing ? 2 : 1);
    let maybe = false;
    for (const tag of this.tags) {
      if (name.length <= tag.length) {
        if (tag.startsWith(name)) maybe = true;
        continue;
      }
      if (name.startsWith(tag) && /[\s>/]/.test(name[tag.length]!)) return { tag, closing };
    }
    if (s === "<") return "maybe";
    return maybe ? "maybe" : "no";
  }
}

/** Index of `</tag>` (or `</tag ` …) at or after `from`, not matching longer names like `</tag_id>`. */
function findClose(lower: string, tag: string, from: number): number {
  const needle = `</${tag}`;
  for (let at = lower.indexOf(needle, from); at >= 0; at = lower.indexOf(needle, at + 1)) {
    const next = lower[at + needle.length];
    if (next === undefined || next === ">" || /\s/.test(next)) return at;
  }
  return -1;
}
