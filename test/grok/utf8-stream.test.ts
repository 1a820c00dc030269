/**
 * Utf8Stream (json-scanner.ts) gives exactly the text of decoding the whole byte stream at once,
 * however the stream is cut into chunks: characters of 1–4 bytes split at every position,
 * invalid and truncated sequences (U+FFFD), and a character left unfinished at the end.
 */
import { describe, expect, it } from "vitest";
import { JsonObjectScanner, Utf8Stream } from "../../src/server/grok/json-scanner.js";
import { seeded } from "../support/random.js"; // seeded, so a failing random split can be replayed

const whole = (bytes: Uint8Array) => new TextDecoder("utf-8", { ignoreBOM: true }).decode(bytes);

function decodeIn(bytes: Uint8Array, cuts: number[]): string {
  const d = new Utf8Stream();
  let out = "";
  let from = 0;
  for (const c of [...cuts, bytes.length]) {
    out += d.decode(bytes.subarray(from, c));
    from = c;
  }
  return out + d.end();
}


describe("Utf8Stream", () => {
  const text = 'a é ß € 中文 😀 𝄞 {"token":"日本語 ✓"} end';
  const bytes = new TextEncoder().encode(text);

  it("every single cut position gives the whole text", () => {
    for (let i = 0; i <= bytes.length; i++) expect(decodeIn(bytes, [i])).toBe(text);
  });

  it("every byte its own chunk gives the whole text", () => {
    expect(decodeIn(bytes, Array.from({ length: bytes.length }, (_, i) => i))).toBe(text);
  });

  it("random bytes (invalid, truncated, stray continuation bytes) cut at random match one whole decode", () => {
    const r = seeded(12);
    const pieces = [0x41, 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80, 0x80, 0xbf, 0xc0, 0xc1, 0xe0, 0x80, 0xed, 0xa0, 0xf4, 0x90, 0xff, 0xfe, 0x0a, 0x7b, 0x22];
    for (let n = 0; n < 400; n++) {
      const len = 1 + Math.floor(r() * 40);
      const b = Uint8Array.from({ length: len }, () => pieces[Math.floor(r() * pieces.length)]!);
      const cuts = [...new Set(Array.from({ length: Math.floor(r() * 6) }, () => Math.floor(r() * (len + 1))))].sort((x, y) => x - y);
      expect(decodeIn(b, cuts), `bytes ${Buffer.from(b).toString("hex")} cut at ${cuts}`).toBe(whole(b));
    }
  });

  it("an unfinished character at the end becomes U+FFFD", () => {
    const d = new Utf8Stream();
    expect(d.decode(Uint8Array.from([0x61, 0xe2, 0x82]))).toBe("a");
    expect(d.end()).toBe("\uFFFD");
  });

  it("the scanner parses frames whose characters are split across chunks", () => {
    const line = new TextEncoder().encode('{"result":{"response":{"token":"日本語 😀"}}}\n');
    for (let i = 1; i < line.length; i++) {
      const s = new JsonObjectScanner();
      const got = [...s.push(line.subarray(0, i)), ...s.push(line.subarray(i)), ...s.end()];
      expect(got).toEqual([{ result: { response: { token: "日本語 😀" } } }]);
    }
  });
});
