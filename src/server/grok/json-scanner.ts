/**
 * Incremental scanner that finds balanced top-level JSON objects in a byte stream
 * (grok-protocol.md §4.1): plain NDJSON, `data: {…}` SSE lines, `event:` lines, `[DONE]`,
 * several objects on one line, blank lines and any other noise between objects.
 * Chunk boundaries may fall inside multi-byte characters and inside objects.
 */
export const MAX_OBJECT_BYTES = 16 * 1024 * 1024;

/**
 * UTF-8 bytes → text across chunk boundaries. Buffer's decoder on the complete part of each chunk,
 * the bytes of a character split at the end carried to the next one: the same text as a streaming
 * TextDecoder (invalid bytes → U+FFFD) at a fraction of its cost per small chunk.
 */
export class Utf8Stream {
  private carry: Uint8Array | null = null;

  decode(chunk: Uint8Array): string {
    let buf = chunk;
    if (this.carry) {
      const joined = new Uint8Array(this.carry.length + chunk.length);
      joined.set(this.carry);
      joined.set(chunk, this.carry.length);
      buf = joined;
      this.carry = null;
    }
    let end = buf.length;
    // a character cut off at the end: its lead byte is among the last 3 bytes
    for (let i = end - 1, back = 0; i >= 0 && back < 3; i--, back++) {
      const b = buf[i]!;
      if ((b & 0xc0) === 0x80) continue; // continuation byte: keep looking for the lead
      const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
      if (need > end - i) {
        this.carry = buf.slice(i);
        end = i;
      }
      break;
    }
    return Buffer.from(buf.buffer, buf.byteOffset, end).toString("utf8");
  }

  /** The end of the stream: an unfinished character becomes U+FFFD. */
  end(): string {
    const c = this.carry;
    this.carry = null;
    return c ? Buffer.from(c).toString("utf8") : "";
  }
}

/** The character-level engine: balanced top-level objects anywhere in the text. */
class BraceScanner {
  private readonly decoder = new TextDecoder("utf-8");
  private text = "";
  private pos = 0; // scan position inside `text`
  private start = -1; // start index of the object being read, -1 when between objects
  private depth = 0;
  /** True between objects (nothing held). */
  get idle(): boolean {
    return this.start < 0;
  }
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

/**
 * The scanner used for upstream streams. Fast path: complete lines (frames never contain a raw
 * newline) are parsed directly, with `data:` prefixes, `event:` lines, `[DONE]` and blank lines
 * skipped. Lines that are not one JSON object (several concatenated objects, noise around an
 * object, an object continuing on the next line) go through the brace scanner, which also keeps
 * any object left open until it closes. Returns parsed objects.
 */
export class JsonObjectScanner {
  private readonly decoder = new Utf8Stream();
  private readonly braces = new BraceScanner();
  private rest = "";
  noise = 0;
  truncated = false;

  push(chunk: Uint8Array | string): unknown[] {
    const text = this.rest + (typeof chunk === "string" ? chunk : this.decoder.decode(chunk));
    const nl = text.lastIndexOf("\n");
    if (nl < 0) {
      this.rest = text;
      if (text.length > MAX_OBJECT_BYTES) throw new Error(`upstream frame larger than ${MAX_OBJECT_BYTES} bytes`);
      return [];
    }
    this.rest = text.slice(nl + 1);
    const out: unknown[] = [];
    let from = 0;
    while (from <= nl) {
      const end = text.indexOf("\n", from);
      this.line(text.slice(from, end), out);
      from = end + 1;
    }
    return out;
  }

  end(): unknown[] {
    const out: unknown[] = [];
    const tail = this.rest + this.decoder.end();
    this.rest = "";
    if (tail) this.line(tail, out);
    for (const t of this.braces.end()) this.parse(t, out);
    this.truncated = this.braces.truncated;
    this.noise += this.braces.noise;
    return out;
  }

  private line(raw: string, out: unknown[]): void {
    if (!this.braces.idle) {
      for (const t of this.braces.push(raw + "\n")) this.parse(t, out);
      return;
    }
    let s = raw.trim();
    if (!s) return;
    if (s.startsWith("data:")) s = s.slice(5).trim();
    if (s.charCodeAt(0) === 123 /* { */ && s.charCodeAt(s.length - 1) === 125 /* } */) {
      try {
        out.push(JSON.parse(s));
        return;
      } catch {
        /* not a single object: fall through to the brace scanner */
      }
    } else if (!s.includes("{")) {
      if (s !== "[DONE]" && !s.startsWith("event:") && !s.startsWith(":") && !s.startsWith("id:")) this.noise++;
      return;
    }
    for (const t of this.braces.push(raw + "\n")) this.parse(t, out);
  }

  private parse(text: string, out: unknown[]): void {
    try {
      out.push(JSON.parse(text));
    } catch {
      this.noise++;
    }
  }
}
