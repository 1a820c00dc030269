import type { Context } from "koa";
import type { GrokSettings } from "../config/settings-schema.js";
import type { Tier } from "../core/account.js";
import type { Turn } from "../core/turn.js";
import { badRequest, toProxyError } from "../errors.js";
import type { GrokClient } from "../grok/client.js";
import type { ModelCatalog } from "../grok/models.js";
import type { Logger } from "../log.js";
import type { RequestLogHook, RequestTrace } from "../observe/request-log.js";
import type { ImageServing } from "../media/chat-images.js";
import { resolveAttachments } from "../media/fetch-image.js";
import { type VideoServing, prepareVideoTurn } from "../media/video-chat.js";
import type { ProtocolAdapter, RenderContext, SseFrame } from "../protocols/adapter.js";
import { estimateTokens } from "../protocols/estimate-tokens.js";
import { flattenMessages } from "../protocols/flatten.js";
import { buildChatRequest, chatCall } from "./chat-call.js";
import { inBandError } from "./failure-status.js";
import { resolveModel } from "./model-map.js";
import type { Pipeline, UpstreamJob } from "./pipeline.js";
import { SseWriter } from "./sse-writer.js";
import { TurnOutput, toolsActive } from "./turn-output.js";

export interface RunnerDeps {
  pipeline: Pipeline;
  grok: GrokClient;
  catalog: () => ModelCatalog;
  settings: () => GrokSettings;
  /** Accounts per tier, for model_map's symbolic targets. */
  tiers: () => Record<Tier, number>;
  log: Logger;
  /** Told about every request (the manager's request log); never changes what the client gets. */
  requestLog?: RequestLogHook;
  /** How generated images of this request are downloaded, cached and linked (absent: not shown). */
  images?: (ctx: Context, prompt: string | null) => ImageServing;
  /** How video models' turns are generated, cached and linked (media/video-chat.ts; absent: refused). */
  video?: VideoServing;
}

/** The last user message, as the prompt stored with generated media. */
export function lastUserText(turn: Turn): string | null {
  const m = [...turn.messages].reverse().find((x) => x.role === "user" && x.text.trim());
  return m ? m.text.trim().slice(0, 2000) : null;
}

/**
 * The one request path for every client protocol: the adapter parses the body into a Turn;
 * the runner maps the model, builds the prompt (tools included), fetches input images, runs
 * the pipeline (lease, failover, timeouts), turns events into output ops and hands them to the
 * adapter's renderer — as SSE (keep-alives, in-band errors, the end sentinel) or one JSON body.
 */
export async function serveTurn(ctx: Context, adapter: ProtocolAdapter, body: unknown, deps: RunnerDeps): Promise<void> {
  const trace = deps.requestLog?.begin(String(ctx.state.requestId), { protocol: adapter.id, path: ctx.path });
  const requestId = String(ctx.state.requestId);
  const failed = (raw: unknown) => {
    const err = toProxyError(raw);
    trace?.end(adapter.renderError(err, requestId).status, err);
    return err;
  };
  let stream: { rest: Promise<void> } | void;
  try {
    stream = await runTurn(ctx, adapter, body, deps, trace);
  } catch (raw) {
    failed(raw);
    throw raw;
  }
  if (!stream) return void trace?.end(ctx.res.statusCode);
  // a stream past its headers goes on outside Koa's middleware chain (see runTurn); it reports in-band
  stream.rest.then(
    () => trace?.end(ctx.res.statusCode),
    (raw: unknown) => deps.log.error("stream failed after output began", { requestId, message: failed(raw).message }),
  );
}

/**
 * Serves the turn. Non-stream requests and streams that end (or fail) before their headers are
 * decided resolve when the response is complete; a stream whose headers are out resolves to the
 * rest of the answer (`rest`, which does not reject in practice: failures from then on go in-band),
 * so that Koa's middleware chain unwinds and an open stream holds only its own state.
 */
async function runTurn(ctx: Context, adapter: ProtocolAdapter, body: unknown, deps: RunnerDeps, trace?: RequestTrace): Promise<{ rest: Promise<void> } | void> {
  const requestId = String(ctx.state.requestId);
  const turn = adapter.parse(body, { query: ctx.query as Record<string, unknown>, headers: ctx.headers });
  const s = deps.settings();
  const model = resolveModel(deps.catalog(), turn.model, s.model_map, deps.tiers());
  checkToolChoice(turn);
  const clientTools = toolsActive(turn);
  const prompt = turnPrompt(turn);
  const request = buildChatRequest(prompt, model, s, { clientTools });
  const rctx: RenderContext = { turn, requestId, servedModel: model.id, settings: s, promptTokens: estimateTokens(prompt) };
  const output = new TurnOutput(turn, s, prompt);
  const images = deps.images?.(ctx, lastUserText(turn)) ?? null;
  const video = model.kind === "video" ? prepareVideoTurn(deps.video, ctx, turn, body, model) : null; // video models: media/video-chat.ts
  trace?.turn({ model: turn.model, servedModel: model.id, stream: turn.stream, prompt: () => prompt });
  /** Input images fetched (abortable), then the job for the pipeline: a video job or the chat call. */
  const upstreamJob = async (signal: AbortSignal, buffered: boolean): Promise<UpstreamJob> => {
    const files = await resolveAttachments(turn.attachments, { allowPrivate: s.image_url_allow_private, signal, log: deps.log });
    if (video) return video.job(files, requestId, signal);
    return { need: { bucket: model.bucket, cost: model.cost, minTier: model.minTier, label: model.id }, call: chatCall(deps.grok, model, request, files, images), requestId, signal, ...(buffered ? { buffered: true } : {}) };
  };

  if (!turn.stream) {
    const abort = new AbortController();
    // the response's close: the request's own fired already when its body was read
    ctx.res.on("close", () => {
      if (!ctx.res.writableEnded) abort.abort(new Error("client disconnected"));
    });
    for await (const e of deps.pipeline.run(await upstreamJob(abort.signal, true))) {
      if (e.type === "error") throw inBandError(e.error);
      if (e.type === "done") break;
      output.push(e);
      if (output.done) break;
    }
    output.end();
    const result = await adapter.final(output.summary(), rctx);
    ctx.type = "application/json";
    ctx.body = result;
    return;
  }

  const renderer = adapter.stream(rctx);
  const sse = new SseWriter(ctx.res, { keepAliveMs: s.keepalive_interval * 1000, keepAlive: () => frameText(renderer.keepAlive()), headers: adapter.headers?.(requestId) ?? {} });
  ctx.respond = false;
  const send = async (frames: SseFrame[]) => {
    for (const f of frames) await sse.send(f.data, f.event);
  };
  const pump = async (): Promise<void> => {
    try {
      for await (const e of deps.pipeline.run(await upstreamJob(sse.abort.signal, false))) {
        if (e.type === "error") {
          const err = inBandError(e.error);
          trace?.inBand(err);
          await send(renderer.error(err));
          return;
        }
        if (e.type === "done") break;
        await send(renderer.ops(output.push(e)));
        if (output.done) break;
      }
      if (sse.closed) return;
      await send(renderer.ops(output.end()));
      const summary = output.summary();
      await send(renderer.finish(summary));
      await adapter.afterStream?.(summary, rctx);
    } catch (raw) {
      const err = toProxyError(raw);
      if (!sse.headersSent) {
        sse.detach(); // nothing sent yet: an ordinary HTTP error in the protocol's shape
        ctx.respond = true;
        throw err;
      }
      deps.log[err.code === "internal_error" ? "error" : "warn"]("stream failed after output began", { requestId, code: err.code, message: err.message });
      trace?.inBand(err);
      await send(renderer.error(err));
    } finally {
      sse.end();
    }
  };
  // Until the headers are decided a failure is an HTTP error thrown into Koa's error handler;
  // once they are, the middleware chain's suspended frames (~5 KiB per open stream) are let go.
  const rest = pump();
  const ended = await Promise.race([rest.then(() => true), sse.whenOpen().then(() => false)]);
  return ended ? undefined : { rest }; // (a bare promise would be awaited by the async function)
}

/** The one prompt grok.com gets for a turn: the flattened history with the tool instructions in place. */
export function turnPrompt(turn: Turn): string {
  return flattenMessages(turn.messages, { tools: turn.tools, toolChoice: turn.toolChoice, parallel: turn.parallelToolCalls });
}

function frameText(k: string | SseFrame[]): string {
  if (typeof k === "string") return k;
  return k.map((f) => `${f.event ? `event: ${f.event}\n` : ""}data: ${typeof f.data === "string" ? f.data : JSON.stringify(f.data)}\n\n`).join("");
}

/** A named tool_choice must name a declared tool (400 before anything reaches grok.com). */
function checkToolChoice(turn: Turn): void {
  const c = turn.toolChoice;
  if (c.type === "tool" && !turn.tools.some((t) => t.name === c.name)) throw badRequest(`tool_choice names the tool '${c.name}', which is not in tools`, "tool_choice");
  if (c.type === "required" && turn.tools.length === 0) throw badRequest("tool_choice requires a tool but no tools were given", "tool_choice");
}
