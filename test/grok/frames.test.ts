import { describe, expect, it } from "vitest";
import type { GrokEvent } from "../../src/server/core/events.js";
import { FrameParser } from "../../src/server/grok/frames.js";

function parse(lines: unknown[]): { events: GrokEvent[]; parser: FrameParser } {
  const parser = new FrameParser();
  const events = lines.flatMap((l) => parser.push(typeof l === "string" ? JSON.parse(l) : l)).concat(parser.end());
  return { events, parser };
}
const answer = (ev: GrokEvent[]) => ev.filter((e) => e.type === "text").map((e) => (e as { text: string }).text).join("");
const reasoning = (ev: GrokEvent[]) => ev.filter((e) => e.type === "reasoning" && !e.header).map((e) => (e as { text: string }).text).join("");

describe("FrameParser — REST", () => {
  it("parses the plain text sample and does not repeat the final message", () => {
    const { events, parser } = parse([
      { result: { conversation: { conversationId: "c1", title: "New conversation" } } },
      { result: { response: { userResponse: { responseId: "u1", message: "Say hi" }, isThinking: false, responseId: "u1" } } },
      { result: { response: { llmInfo: { modelHash: "A" }, isThinking: false, responseId: "a1" } } },
      { result: { response: { token: "Hi", isThinking: false, messageTag: "final", responseId: "a1" } } },
      { result: { response: { token: " there!", isThinking: false, messageTag: "final", responseId: "a1" } } },
      { result: { response: { token: "", isThinking: false, isSoftStop: true, responseId: "a1" } } },
      { result: { response: { modelResponse: { responseId: "a1", message: "Hi there!" }, responseId: "a1" } } },
      { result: { title: { newTitle: "Greeting" } } },
    ]);
    expect(answer(events)).toBe("Hi there!");
    expect(parser.conversationId).toBe("c1");
    expect(parser.responseId).toBe("a1");
    expect(parser.unknownFrames).toBe(0);
  });

  it("separates thinking, tool cards and search results from the answer", () => {
    const { events } = parse([
      { result: { response: { token: "Thinking about your request", isThinking: true, messageTag: "header" } } },
      { result: { response: { token: "The user wants the Earth-Moon distance.", isThinking: true, messageTag: "assistant" } } },
      {
        result: {
          response: {
            token: '<xai:tool_usage_card><xai:tool_usage_card_id>t1</xai:tool_usage_card_id><xai:tool_name>web_search</xai:tool_name><xai:tool_args><![CDATA[{"query":"average distance earth moon"}]]></xai:tool_args></xai:tool_usage_card>',
            isThinking: true,
            messageTag: "tool_usage_card",
            toolUsageCardId: "t1",
            toolUsageCard: { toolUsageCardId: "t1", webSearch: { args: { query: "average distance earth moon" } } },
          },
        },
      },
      { result: { response: { webSearchResults: { results: [{ url: "https://example.org/moon", title: "Moon facts", preview: "About 384,400 km" }] }, isThinking: true, messageTag: "raw_function_result", toolUsageCardId: "t1" } } },
      { result: { response: { token: "About 384,400 km.", isThinking: false, messageTag: "final" } } },
      { result: { response: { modelResponse: { responseId: "a1", message: "About 384,400 km." } } } },
    ]);
    expect(answer(events)).toBe("About 384,400 km.");
    expect(reasoning(events)).toBe("The user wants the Earth-Moon distance.");
    expect(events).toContainEqual({ type: "tool", id: "t1", name: "web_search", query: "average distance earth moon" });
    expect(events).toContainEqual({ type: "sources", toolId: "t1", sources: [{ url: "https://example.org/moon", title: "Moon facts", snippet: "About 384,400 km" }] });
  });

  it("classifies in-stream errors", () => {
    const kinds = [
      { error: { code: 8, message: "Too many requests", details: [] } },
      { error: { code: 7, message: "Request rejected by anti-bot rules.", details: [] } },
      { result: { response: { error: { message: "You've reached your usage limit. Please try again later." } } } },
      { result: { response: { modelResponse: { responseId: "a1", message: "", streamErrors: [{ message: "Model overloaded", code: 14 }] } } } },
    ].map((f) => parse([f]).events.find((e) => e.type === "error"));
    expect(kinds.map((e) => (e as { error: { kind: string } }).error.kind)).toEqual(["rate_limited", "anti_bot", "rate_limited", "upstream_error"]);
  });

  it("appends only the missing suffix of a longer final message", () => {
    const { events } = parse([
      { result: { response: { token: "Hello", isThinking: false } } },
      { result: { response: { modelResponse: { message: "Hello world" } } } },
    ]);
    expect(answer(events)).toBe("Hello world");
  });
});

describe("FrameParser — gateway", () => {
  const ev = (event: object) => ({ session_id: "c2", event });
  it("parses sample 2: reasoning, search, inline citations", () => {
    const { events } = parse([
      ev({ type: "session.created", client_event_id: "x", session: { model: "expert" } }),
      ev({ type: "conversation.attached", conversation: { id: "c2" } }),
      ev({ type: "response.created", response: { id: "r2", status: "in_progress" } }),
      ev({ type: "response.chunk", chunk: { phase_marker: { kind: "KIND_THINKING_START" } } }),
      ev({ type: "response.chunk", chunk: { text: { text: "Thinking about your request", channel: "CHANNEL_ASSISTANT_NOTETAKER_HEADER" } } }),
      ev({ type: "response.chunk", chunk: { metadata: { step_id: 0 }, text: { text: "Check a source.", channel: "CHANNEL_ANALYSIS" } } }),
      ev({ type: "response.chunk", chunk: { tool_usage_card: { tool_usage_card_id: "t1", web_search: { args: { query: "moon" } } } } }),
      ev({ type: "response.chunk", chunk: { tool_result: { web_search: { webpages: [{ url: "https://example.org/moon", title: "Moon facts", snippet: "384,400" }] } } } }),
      ev({ type: "response.chunk", chunk: { text: { text: "About 384,400 km", channel: "CHANNEL_ASSISTANT_RESPONSE" } } }),
      ev({ type: "response.chunk", chunk: { render_citation: { id: "c1", kind: "CITATION_KIND_WEB_PAGE", url: "https://example.org/moon", citation_id: 0 } } }),
      ev({ type: "response.chunk", chunk: { text: { text: ".", channel: "CHANNEL_ASSISTANT_RESPONSE" } } }),
      ev({ type: "response.done", response: { id: "r2", status: "completed" } }),
    ]);
    expect(reasoning(events)).toBe("Check a source.");
    expect(answer(events)).toBe("About 384,400 km.");
    const order = events.filter((e) => e.type === "text" || e.type === "citation").map((e) => e.type);
    expect(order).toEqual(["text", "citation", "text"]);
    // tool_result without tool_call_id is correlated with the single open web_search call
    expect(events).toContainEqual({ type: "sources", toolId: "t1", sources: [{ url: "https://example.org/moon", title: "Moon facts", snippet: "384,400" }] });
    expect(events[events.length - 1]).toEqual({ type: "done", responseId: "r2", status: "completed" });
  });

  it("holds text behind an in-text citation tag until its card arrives", () => {
    const { events } = parse([
      ev({ type: "response.chunk", chunk: { text: { text: 'A<grok:render card_id="b1" card_type="citation_card" type="render_inline_citation"><argument name="citation_id">1</argument></grok:render>B' } } }),
      ev({ type: "response.chunk", chunk: { text: { text: "C" } } }),
      ev({ type: "response.grok.output", output: { card_attachment: { jsonData: JSON.stringify({ id: "b1", url: "https://example.org/b" }) } } }),
      ev({ type: "response.done", response: { id: "r", status: "completed" } }),
    ]);
    const seq = events.filter((e) => e.type === "text" || e.type === "citation").map((e) => (e.type === "text" ? e.text : `[${e.url}]`));
    expect(seq.join("")).toBe("A[https://example.org/b]BC");
  });

  it("reports non-completed status, session.ended and error events as errors", () => {
    const failed = parse([ev({ type: "response.done", response: { id: "r", status: "failed" } })]).events;
    expect(failed.find((e) => e.type === "error")).toBeTruthy();
    const ended = parse([ev({ type: "session.ended" })]).events;
    expect(ended[0]).toMatchObject({ type: "error", error: { kind: "network" } });
    const limited = parse([ev({ type: "error", error: { code: "rate_limited", message: "You've reached your usage limit. Please try again later." } })]).events;
    expect(limited[0]).toMatchObject({ type: "error", error: { kind: "rate_limited" } });
    const antibot = parse([ev({ type: "error", error: { code: 7, message: "Request rejected by anti-bot rules." } })]).events;
    expect(antibot[0]).toMatchObject({ type: "error", error: { kind: "anti_bot" } });
  });

  it("reads the non-chunk event family", () => {
    const { events } = parse([
      ev({ type: "response.output_text.delta", delta: "hmm", x_grok: { is_thinking: true } }),
      ev({ type: "response.output_text.delta", delta: "Hi" }),
      ev({ type: "response.output_text.done", text: "Hi" }),
      ev({ type: "response.done", response: { id: "r", status: "completed" } }),
    ]);
    expect(answer(events)).toBe("Hi");
    expect(reasoning(events)).toBe("hmm");
  });

  it("counts unknown frames instead of failing", () => {
    const { parser, events } = parse([ev({ type: "response.something_new", x: 1 }), { foo: 1 }]);
    expect(events).toEqual([]);
    expect(parser.unknownFrames).toBe(2);
  });
});
