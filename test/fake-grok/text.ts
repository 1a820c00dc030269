/** Default texts of the scripted turns and the tokenizer that cuts them into stream deltas. */

/** Sent as the tokens "Hi" and " there!". */
export const DEFAULT_TEXT = "Hi there!";
export const DEFAULT_REASONING = "The user is greeting me. A short friendly reply is enough.";
/** Header line of thinking turns (REST messageTag "header", gateway CHANNEL_ASSISTANT_NOTETAKER_HEADER). */
export const THINKING_HEADER = "Thinking about your request";
export const SLOW_DELAY_MS = 250;

export const SEARCH_QUERY = "average distance earth moon";
export const SEARCH_SOURCES = [
  { url: "https://example.org/moon", title: "Moon facts", snippet: "About 384,400 km" },
  { url: "https://example.net/orbit", title: "Lunar orbit", snippet: "Perigee 363,300 km" },
] as const;

function buildSplitText(): string {
  const lines = [
    "你好，世界！🌏 这是一个用于测试多字节字符切分的长文本。",
    "日本語のテキストも含みます：すもももももももものうち。🍑",
    "한국어 문장도 있습니다. 다람쥐 헌 쳇바퀴에 타고파. 🐿️",
    "表情符号：😀👍🏽👨‍👩‍👧‍👦🇨🇳🏳️‍🌈 以及数学符号 ∑∫√∞ 和全角标点「」『』。",
    "Ελληνικά και русский текст, ñandú, façade — “quotes” … end.",
  ];
  const out: string[] = [];
  for (let i = 1; i <= 4; i++) out.push(`第${i}段：` + lines.join(""));
  return out.join("\n");
}

/** Long CJK + emoji answer used by "split-utf8" when no text is given. */
export const SPLIT_UTF8_TEXT = buildSplitText();

/** Answer of "markup": artifacts, render tags (mixed case) and tool-card XML a proxy must strip. */
export const MARKUP_TEXT =
  "Here is the script:\n" +
  '<xaiArtifact artifact_id="6f1d2c3b-8e4a-4b5c-9d0e-1f2a3b4c5d6e" artifact_version_id="0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f" title="hello.py" contentType="text/python">\nprint("hi")\n</xaiArtifact>\n' +
  'It prints a greeting<grok:render card_id="b086be" card_type="citation_card" type="render_inline_citation"><argument name="citation_id">0</argument></grok:render>' +
  ' and nothing else<GROK:RENDER type="render_searched_image" card_id="5d7e21"><argument name="image_id">1</argument><argument name="size">"SMALL"</argument></Grok:Render>.' +
  "<xai:tool_usage_card><xai:tool_usage_card_id>0c9f6a31-5b7e-4c2d-9a8b-7e6f5d4c3b2a</xai:tool_usage_card_id><xai:tool_name>code_execution</xai:tool_name>" +
  '<xai:tool_args><![CDATA[{"code":"print(\\"hi\\")"}]]></xai:tool_args></xai:tool_usage_card>' +
  ' Done.<XAIARTIFACT contentType="text/markdown" title="notes.md">- note</xaiartifact>';

/** MARKUP_TEXT with every <xaiArtifact>, <grok:render> and tool-card element removed whole (case-insensitive). */
export const MARKUP_PLAIN_TEXT = stripMarkup(MARKUP_TEXT);

export function stripMarkup(text: string): string {
  return text
    .replace(/<xaiArtifact\b[^>]*>[\s\S]*?<\/xaiArtifact>/gi, "")
    .replace(/<grok:render\b[^>]*>[\s\S]*?<\/grok:render>/gi, "")
    .replace(/<xai:tool_usage_card>[\s\S]*?<\/xai:tool_usage_card>/gi, "");
}

/**
 * Cuts text into stream deltas: words with their leading whitespace ("Hi", " there!"),
 * words longer than maxChars code points are cut further. Concatenation === text.
 */
export function tokenize(text: string, maxChars = 24): string[] {
  if (!text) return [];
  const words: string[] = [...(text.match(/\s*\S+/gu) ?? [])];
  const tail = text.slice(words.join("").length);
  if (tail) {
    if (words.length) words[words.length - 1] += tail;
    else words.push(tail);
  }
  const out: string[] = [];
  for (const w of words) {
    const cps = Array.from(w);
    for (let i = 0; i < cps.length; i += maxChars) out.push(cps.slice(i, i + maxChars).join(""));
  }
  return out;
}

/**
 * Splits tokens for the two citation points of "search": after the first half, and after the
 * rest minus its trailing punctuation ("Hi" [1] " there" [2] "!", like §3.12).
 */
export function citationSplit(tokens: string[]): [string[], string[], string] {
  const cut = Math.ceil(tokens.length / 2);
  const p1 = tokens.slice(0, cut);
  const p2 = tokens.slice(cut);
  const last = p2[p2.length - 1];
  const m = last ? /[.!?\u3002\uff01\uff1f]+$/u.exec(last) : null;
  if (!m || m[0].length === last!.length) return [p1, p2, ""];
  p2[p2.length - 1] = last!.slice(0, -m[0].length);
  return [p1, p2, m[0]];
}

export function citationTag(cardId: string, citationId: number): string {
  return `<grok:render card_id="${cardId}" card_type="citation_card" type="render_inline_citation"><argument name="citation_id">${citationId}</argument></grok:render>`;
}

export function toolCardXml(id: string, toolName: string, args: unknown): string {
  return (
    `<xai:tool_usage_card><xai:tool_usage_card_id>${id}</xai:tool_usage_card_id><xai:tool_name>${toolName}</xai:tool_name>` +
    `<xai:tool_args><![CDATA[${JSON.stringify(args)}]]></xai:tool_args></xai:tool_usage_card>`
  );
}
