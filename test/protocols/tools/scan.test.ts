import { describe, expect, it } from "vitest";
import { EnvelopeScanner, type ScanSegment, matchOpener, scanText } from "../../../src/server/protocols/tools/scan.js";
import { seeded } from "../../support/random.js"; // seeded, so a failing random split can be replayed


function merge(segs: ScanSegment[]): ScanSegment[] {
  const out: ScanSegment[] = [];
  for (const s of segs) {
    const last = out[out.length - 1];
    if (s.kind === "text" && last?.kind === "text") last.text += s.text;
    else out.push({ ...s });
  }
  return out;
}

describe("matchOpener", () => {
  it.each([
    ["<tool_calls>", "", "yes"],
    ["<tool_call ", "", "yes"],
    ["<function_calls>", "", "yes"],
    ["<invoke name=", "", "yes"],
    ["<x:invoke>", "", "yes"],
    ["<tool_c", "", "partial"],
    ["<", "", "partial"],
    ["<div", "", "partial"],
    ["<div>", "", "no"],
    ["<tool_callx>", "", "no"],
    ["</tool_calls>", "", "no"],
    ["<tool_calls>", "`", "no"],
    ["<a:b", "", "no"],
    ["{", "", "partial"],
    ['{ "tool_calls" :', "", "yes"],
    ['{"tool', "", "partial"],
    ['{"name"', "", "no"],
    ["{x", "", "no"],
    ["``", "", "partial"],
    ["```json\n", "", "partial"],
    ['```json\n{"tool_calls":', "", "yes"],
    ["```xml\n<tool_calls>", "", "yes"],
    ["```\n<invoke ", "", "yes"],
    ["```python\n", "", "no"],
    ["```json\n{\"a\"", "", "no"],
    ["` x", "", "no"],
  ])("%j (after %j) → %s", (t, prev, r) => expect(matchOpener(t, prev).r).toBe(r));
});

describe("EnvelopeScanner", () => {
  it("cuts prose and envelopes, and tells unclosed ones", () => {
    expect(scanText('a <tool_call>{"x":"</tool_call>"}</tool_call> b <invoke name="y">')).toEqual([
      { kind: "text", text: "a " },
      { kind: "envelope", raw: '<tool_call>{"x":"</tool_call>"}</tool_call>', closed: true },
      { kind: "text", text: " b " },
      { kind: "envelope", raw: '<invoke name="y">', closed: false },
    ]);
    expect(scanText('```json\n{"tool_calls":[]}\n```\nafter')).toEqual([
      { kind: "envelope", raw: '```json\n{"tool_calls":[]}\n```', closed: true },
      { kind: "text", text: "\nafter" },
    ]);
    // A fenced body not followed by the closing fence ends at the body.
    expect(scanText('```\n{"tool_calls":[]} tail')).toEqual([
      { kind: "envelope", raw: '```\n{"tool_calls":[]}', closed: true },
      { kind: "text", text: " tail" },
    ]);
  });

  it("gives the same segments however the input is split (fuzz)", () => {
    const pieces = [
      "plain prose ",
      "中文 ",
      "<",
      "<b>",
      "</b>",
      "<tool_call>",
      "</tool_call>",
      "<tool_calls>",
      "</tool_calls>",
      '<invoke name="n">',
      "</invoke>",
      "<parameter name=\"k\">",
      "</parameter>",
      "{",
      "}",
      '{"tool_calls":',
      '"str',
      '"',
      "\\",
      "[",
      "]",
      "`",
      "```",
      "```json\n",
      "```xml\n",
      "\n",
      "  ",
      "<x:function_calls>",
      "</x:function_calls>",
    ];
    for (let seed = 1; seed <= 400; seed++) {
      const r = seeded(seed);
      let text = "";
      const n = 1 + Math.floor(r() * 30);
      for (let i = 0; i < n; i++) text += pieces[Math.floor(r() * pieces.length)];
      const whole = scanText(text);
      expect(whole.map((s) => (s.kind === "text" ? s.text : s.raw)).join(""), `seed ${seed}`).toBe(text);
      const sc = new EnvelopeScanner();
      const segs: ScanSegment[] = [];
      for (let i = 0; i < text.length; ) {
        const k = 1 + Math.floor(r() * 5);
        segs.push(...sc.push(text.slice(i, i + k)));
        i += k;
      }
      segs.push(...sc.end());
      expect(merge(segs), `seed ${seed}: ${JSON.stringify(text)}`).toEqual(whole);
    }
  });
});
