import Router from "@koa/router";
import type { Context } from "koa";
import type { GrokSettings } from "../config/settings-schema.js";
import { ProxyError, toProxyError } from "../errors.js";
import type { GrokChatRequest } from "../grok/chat-request.js";
import type { ModelCatalog, ModelEntry } from "../grok/models.js";
import type { Logger } from "../log.js";
import { type ChatPipeline, inBandError } from "../pipeline.js";
import { flattenMessages } from "../protocols/flatten.js";
import { type OpenAIChatRequest, parseOpenAIChatRequest } from "../protocols/openai/parse-request.js";
import { OpenAIChunkWriter, type ThinkingOutput, renderCompletion, renderOpenAIError, usageFor } from "../protocols/openai/render.js";
import { OutputShaper } from "../protocols/shape-output.js";
import { resolveAttachments } from "../media/fetch-image.js";
import { readJson } from "./middleware.js";
import { SseWriter } from "./sse.js";

export interface OpenAIDeps {
  pipeline: ChatPipeline;
  catalog: () => ModelCatalog;
  settings: () => GrokSettings;
  log: Logger;
}

/** One model object carrying both the OpenAI and the Anthropic keys (api-conformance.md §3.1). */
export function modelObject(m: ModelEntry): Record<string, unknown> {
  return {
    id: m.id,
    object: "model",
    created: m.created,
    owned_by: "xai",
    type: "model",
    display_name: m.displayName,
    created_at: new Date(m.created * 1000).toISOString().replace(/\.\d+Z$/, "Z"),
  };
}

export function thinkingOutput(s: GrokSettings, req: { hideReasoning: boolean }): ThinkingOutput {
  if (!s.show_thinking || req.hideReasoning) return "hidden";
  return s.thinking_output;
}

export function findModel(catalog: ModelCatalog, id: string): ModelEntry {
  const m = catalog.get(id);
  if (!m) throw new ProxyError(404, "model_not_found", `The model '${id}' does not exist. GET /v1/models lists the available ids.`, { param: "model" });
  return m;
}

export function openaiRouter(deps: OpenAIDeps): Router {
  const router = new Router();

  const listModels = (ctx: Context) => {
    const data = deps.catalog().list().map(modelObject);
    ctx.body = { object: "list", data, has_more: false, first_id: data[0]?.id ?? null, last_id: data[data.length - 1]?.id ?? null };
  };
  const getModel = (ctx: Context) => {
    ctx.body = modelObject(findModel(deps.catalog(), ctx.params.id!));
  };
  const chat = (ctx: Context) => chatCompletions(ctx, deps);
  for (const prefix of ["/v1", ""]) {
    router.get(`${prefix}/models`, listModels);
    router.get(`${prefix}/models/:id`, getModel);
    router.post(`${prefix}/chat/completions`, chat);
  }
  return router;
}

function buildRequest(req: OpenAIChatRequest, model: ModelEntry, s: GrokSettings): GrokChatRequest {
  return {
    mode: model.gatewayMode ?? model.restModeId,
    message: flattenMessages(req.messages),
    fileIds: [],
    temporary: s.temporary,
    disableSearch: false,
    enableImageGeneration: false,
    imageGenerationCount: 2,
  };
}

async function chatCompletions(ctx: Context, deps: OpenAIDeps): Promise<void> {
  const req = parseOpenAIChatRequest(await readJson(ctx));
  const model = findModel(deps.catalog(), req.model);
  const s = deps.settings();
  const upstreamReq = buildRequest(req, model, s);
  const files = await resolveAttachments(req.attachments, { allowPrivate: s.image_url_allow_private });
  const thinking = thinkingOutput(s, req);
  const shaper = new OutputShaper({ stop: req.stop, maxTokens: req.maxTokens, inlineCitations: s.inline_citations, showSources: s.show_search_sources });
  const requestId = String(ctx.state.requestId);

  if (!req.stream) {
    const abort = new AbortController();
    ctx.req.on("close", () => {
      if (!ctx.res.writableEnded) abort.abort(new Error("client disconnected"));
    });
    for await (const e of deps.pipeline.run({ model, request: upstreamReq, files, requestId, signal: abort.signal, buffered: true })) {
      if (e.type === "error") throw inBandError(e.error);
      if (e.type === "done") break;
      shaper.push(e);
      if (shaper.done) break;
    }
    shaper.end();
    ctx.type = "application/json";
    ctx.body = renderCompletion(req.model, shaper, thinking, shaper.finish ?? "stop", usageFor(upstreamReq.message, shaper), { searchSources: s.show_search_sources });
    return;
  }

  const sse = new SseWriter(ctx.res, { keepAliveMs: s.keepalive_interval * 1000, keepAlive: () => ": keep-alive\n\n" });
  ctx.respond = false;
  const writer = new OpenAIChunkWriter(req.model, thinking, req.includeUsage);
  try {
    for await (const e of deps.pipeline.run({ model, request: upstreamReq, files, requestId, signal: sse.abort.signal })) {
      if (e.type === "error") {
        await sse.send(renderOpenAIError(inBandError(e.error)));
        return;
      }
      if (e.type === "done") break;
      for (const chunk of writer.ops(shaper.push(e))) await sse.send(chunk);
      if (shaper.done) break;
    }
    if (sse.closed) return;
    for (const chunk of writer.ops(shaper.end())) await sse.send(chunk);
    for (const chunk of writer.finish(shaper.finish ?? "stop", usageFor(upstreamReq.message, shaper))) await sse.send(chunk);
    await sse.send("[DONE]");
  } catch (raw) {
    const err = toProxyError(raw);
    if (!sse.headersSent) {
      sse.detach(); // nothing sent yet: an ordinary HTTP error
      ctx.respond = true;
      throw err;
    }
    deps.log.warn("stream failed after output began", { requestId, code: err.code, message: err.message });
    await sse.send(renderOpenAIError(err));
  } finally {
    sse.end();
  }
}
