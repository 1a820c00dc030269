import type { GrokSettings } from "../../config/settings-schema.js";
import type { ProtocolAdapter, RenderContext, SseFrame, StreamRenderer } from "../adapter.js";
import { parseOpenAIChatRequest } from "./parse-request.js";
import { OpenAIChunkWriter, type ThinkingOutput, renderCompletion, renderOpenAIError } from "./render.js";

/** Where reasoning goes for this request: the thinking_output setting, unless hidden by show_thinking or the request. */
export function thinkingOutput(s: GrokSettings, req: { hideReasoning: boolean }): ThinkingOutput {
  if (!s.show_thinking || req.hideReasoning) return "hidden";
  return s.thinking_output;
}

const frames = (chunks: Record<string, unknown>[]): SseFrame[] => chunks.map((data) => ({ data }));

/** OpenAI chat completions (api-conformance.md §2): `chat.completion.chunk` frames ending in `[DONE]`. */
export const openaiAdapter: ProtocolAdapter = {
  id: "openai",
  parse: (body) => parseOpenAIChatRequest(body),
  stream(ctx: RenderContext): StreamRenderer {
    const w = new OpenAIChunkWriter(ctx.turn.model, thinkingOutput(ctx.settings, ctx.turn), ctx.turn.extra.includeUsage === true);
    return {
      ops: (ops) => frames(w.ops(ops)),
      finish: (summary) => [...frames(w.finish(summary)), { data: "[DONE]" }],
      error: (err) => [{ data: renderOpenAIError(err) }],
      keepAlive: () => ": keep-alive\n\n",
    };
  },
  final: (summary, ctx) => renderCompletion(ctx.turn.model, summary, thinkingOutput(ctx.settings, ctx.turn), { searchSources: ctx.settings.show_search_sources }),
  renderError: (err) => ({ status: err.status, body: renderOpenAIError(err) }),
};
