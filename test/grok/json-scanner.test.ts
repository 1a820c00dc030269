import { describe, expect, it } from "vitest";
import { JsonObjectScanner } from "../../src/server/grok/json-scanner.js";

describe("JsonObjectScanner", () => {
  it("finds objects in NDJSON, SSE data lines, concatenated objects and noise", () => {
    const s = new JsonObjectScanner();
    const input = '{"a":1}\n\ndata: {"b":"x}y"}\nevent: foo\n{"c":{"d":[1,2]}}{"e":"\\"}"}\ndata: [DONE]\n';
    const got = s.push(input).concat(s.end()).map((t) => JSON.parse(t));
    expect(got).toEqual([{ a: 1 }, { b: "x}y" }, { c: { d: [1, 2] } }, { e: '"}' }]);
  });

  it("reassembles objects and multi-byte characters split at every byte offset", () => {
    const obj = { result: { response: { token: "你好🌍 — ok", isThinking: false } } };
    const bytes = Buffer.from(JSON.stringify(obj) + "\n" + JSON.stringify(obj) + "\n");
    for (let cut = 1; cut < bytes.length; cut += 3) {
      const s = new JsonObjectScanner();
      const got = [...s.push(bytes.subarray(0, cut)), ...s.push(bytes.subarray(cut)), ...s.end()].map((t) => JSON.parse(t));
      expect(got).toEqual([obj, obj]);
    }
  });

  it("feeds byte by byte", () => {
    const s = new JsonObjectScanner();
    const bytes = Buffer.from('{"t":"é€😀"}');
    const got: string[] = [];
    for (const b of bytes) got.push(...s.push(Uint8Array.of(b)));
    expect(got.map((t) => JSON.parse(t))).toEqual([{ t: "é€😀" }]);
  });
});
