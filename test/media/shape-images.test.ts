import { describe, expect, it } from "vitest";
import type { GrokEvent } from "../../src/server/core/events.js";
import { OutputShaper } from "../../src/server/protocols/shape-output.js";

const img = (servedUrl: string | undefined, final = true): GrokEvent => ({ type: "image", id: "i", url: "users/u/generated/i/image.jpg", progress: final ? 100 : 50, moderated: false, final, errorCode: null, ...(servedUrl ? { servedUrl } : {}) });
const shaper = (o: Partial<ConstructorParameters<typeof OutputShaper>[0]> = {}) => new OutputShaper({ stop: [], maxTokens: null, inlineCitations: true, showSources: false, ...o });

describe("images in the output shaper", () => {
  it("shows only served final images, as Markdown paragraphs between the text", () => {
    const s = shaper();
    const ops = [
      ...s.push({ type: "text", text: "Here:" }),
      ...s.push(img(undefined)), // raw grok asset: never shown
      ...s.push(img("http://h/images/a.jpg", false)),
      ...s.push(img("http://h/images/a.jpg")),
      ...s.push(img("http://h/images/b.jpg")),
      ...s.push({ type: "text", text: "Done." }),
    ];
    expect(ops.every((o) => o.kind === "text")).toBe(true);
    expect(s.text).toBe("Here:\n\n![image](http://h/images/a.jpg)\n\n![image](http://h/images/b.jpg)\n\nDone.");
  });

  it("a data: URL is neither cut by max_tokens nor counted against it", () => {
    const data = `data:image/jpeg;base64,${"A".repeat(40_000)}`;
    const s = shaper({ maxTokens: 5 });
    s.push(img(data));
    s.push({ type: "text", text: "ok" });
    expect(s.text.startsWith(`![image](${data})`)).toBe(true);
    expect(s.text.endsWith("\n\nok")).toBe(true);
    expect(s.finish).toBeNull();
  });

  it("text held back for a possible stop sequence goes out before the image", () => {
    const s = shaper({ stop: ["STOP"] });
    s.push({ type: "text", text: "abcST" });
    s.push(img("http://h/images/a.jpg"));
    expect(s.text).toBe("abcST\n\n![image](http://h/images/a.jpg)");
  });
});

describe("frames: modelResponse.generatedImageUrls (§7.1)", () => {
  it("adds the final list's images that no frame announced, never the streamed or moderated ones", async () => {
    const { FrameParser } = await import("../../src/server/grok/frames.js");
    const p = new FrameParser({ filteredTags: [] });
    const r = (response: Record<string, unknown>) => p.push({ result: { response: { ...response, responseId: "a1" } } });
    const streamed = r({ streamingImageGenerationResponse: { imageId: "i1", imageUrl: "users/u/generated/i1/image.jpg", progress: 100 } });
    const blocked = r({ streamingImageGenerationResponse: { imageId: "i3", imageUrl: "users/u/generated/i3/image.jpg", progress: 100, moderated: true } });
    const fin = r({ modelResponse: { responseId: "a1", message: "", generatedImageUrls: ["users/u/generated/i1/image.jpg", "users/u/generated/i2/image.jpg", "users/u/generated/i3/image.jpg"] } });
    expect(streamed.filter((e) => e.type === "image" && e.final)).toHaveLength(1);
    expect(blocked.filter((e) => e.type === "image" && e.moderated)).toHaveLength(1);
    const added = fin.filter((e) => e.type === "image");
    expect(added).toEqual([{ type: "image", id: "i2", url: "users/u/generated/i2/image.jpg", progress: 100, moderated: false, final: true, errorCode: null }]);
  });
});
