import { describe, expect, it } from "vitest";
import { MarkupFilter, type MarkupPiece } from "../../src/server/grok/markup.js";

function run(deltas: string[], tags?: string[]): MarkupPiece[] {
  const f = new MarkupFilter(tags);
  const out = deltas.flatMap((d) => f.push(d)).concat(f.end());
  // merge adjacent text pieces for easy comparison
  const merged: MarkupPiece[] = [];
  for (const p of out) {
    const last = merged[merged.length - 1];
    if (p.kind === "text" && last?.kind === "text") last.text += p.text;
    else merged.push({ ...p });
  }
  return merged;
}
const text = (pieces: MarkupPiece[]) => pieces.filter((p) => p.kind === "text").map((p) => (p as { text: string }).text).join("");

describe("MarkupFilter", () => {
  it("passes plain text and comparison signs through unchanged", () => {
    expect(text(run(["a < b and c <d> e", " x<y"]))).toBe("a < b and c <d> e x<y");
  });

  it("removes grok:render elements split across deltas, in any letter case", () => {
    const out = run(["Hello <gr", "ok:RENDER card_id=\"x\" type=\"render_searched_image\"><argument name=\"a\">1</argument></GROK:render", "> world"]);
    expect(text(out)).toBe("Hello  world");
  });

  it("turns inline citation renders into citation pieces at their position", () => {
    const out = run(['About 384,400 km<grok:render card_id="b086be" card_type="citation_card" type="render_inline_citation"><argument name="citation_id">5</argument></grok:render>.']);
    expect(out).toEqual([{ kind: "text", text: "About 384,400 km" }, { kind: "citation", cardId: "b086be" }, { kind: "text", text: "." }]);
  });

  it("unwraps xaiArtifact into a fenced code block", () => {
    const out = run(['Code:\n<xaiArtifact artifact_id="1" title="a.py" contentType="text/python">\nprint(1)\n</xaiArtifact', ">\nDone"]);
    expect(text(out)).toBe("Code:\n\n```python\nprint(1)\n```\n\nDone");
  });

  it("drops tool usage card XML", () => {
    const out = run(["<xai:tool_usage_card><xai:tool_usage_card_id>t1</xai:tool_usage_card_id><xai:tool_name>web_search</xai:tool_name></xai:tool_usage_card>Answer"]);
    expect(text(out)).toBe("Answer");
  });

  it("honours extra filtered tags and drops a stray closing tag", () => {
    expect(text(run(["a<secret x=1>hidden</secret>b</grok:render>c"], ["secret"]))).toBe("abc");
  });

  it("releases a held '<' prefix at the end of the turn", () => {
    expect(text(run(["ends with <gro"]))).toBe("ends with <gro");
  });
});
