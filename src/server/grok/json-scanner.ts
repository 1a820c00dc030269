/**
 * Incremental scanner that finds balanced top-level JSON objects in a byte stream
 * (grok-protocol.md §4.1): plain NDJSON, `data: {…}` SSE lines, `event:` lines, `[DONE]`,
 * several objects on one line, blank lines and any other noise between objects.
 * Chunk boundaries may fall inside multi-byte characters and inside objects.
 */
export const MAX_OBJECT_BYTES = 16 * 1024 * 1024;

export class JsonObjectScanner {
  private readonly decoder = new TextDecoder("utf-8");
  private text = "";
  private pos = 0; // scan position inside `text`
  private start = -1; // start index of the object being read, -1 when between objects
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** Characters skipped between objects that were not whitespace or SSE framing (for debug counts). */
  noise = 0;
  /** True after end() when the stream stopped inside an object. */
  truncated = false;

  push(chunk: Uint8Array | string): string[] {
    this.text += typeof chunk === "string" ? chunk : this.decoder.decode(chunk, { stream: true });
    return this.scan();
  }

  end(): string[] {
    this.text += this.decoder.decode();
    const out = this.scan();
    if (this.start >= 0) this.truncated = true;
    this.text = "";
    this.pos = 0;
    this.start = -1;
    return out;
  }

  private scan(): string[] {
    const out: string[] = [];
    const t = this.text;
    let i = this.pos;
    for (; i < t.length; i++) {
      const c = t.charCodeAt(i);
      if (this.start < 0) {
        if (c === 123 /* { */) {
          this.start = i;
          this.depth = 1;
          this.inString = false;
          this.escaped = false;
        } else if (c > 32) {
          this.noise++;
        }
        continue;
      }
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === 92 /* \ */) this.escaped = true;
        else if (c === 34 /* " */) this.inString = false;
        continue;
      }
      if (c === 34) this.inString = true;
      else if (c === 123) this.depth++;
      else if (c === 125 /* } */) {
        if (--this.depth === 0) {
          out.push(t.slice(this.start, i + 1));
          this.start = -1;
        }
      }
    }
    // Compact the buffer: drop everything before the current object (or everything when idle).
    if (this.start < 0) {
      this.text = "";
      this.pos = 0;
    } else {
      if (i - this.start > MAX_OBJECT_BYTES) throw new Error(`upstream frame larger than ${MAX_OBJECT_BYTES} bytes`);
      this.text = t.slice(this.start);
      this.pos = i - this.start;
      this.start = 0;
    }
    return out;
  }
}
