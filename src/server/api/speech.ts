import Router from "@koa/router";
import type { Context } from "koa";
import type { GrokClient } from "../grok/client.js";
import { CONTENT_TYPES, encodeSpeech, parseSpeechRequest, synthesize } from "../media/speech.js";
import { estimateTokens } from "../protocols/estimate-tokens.js";
import type { Pipeline } from "../runner/pipeline.js";
import { readJson } from "./middleware.js";

/** SSE chunk size of `stream_format: "sse"` (raw audio bytes per `speech.audio.delta`). */
const SSE_CHUNK = 32 * 1024;

/** `POST /v1/audio/speech` (and without /v1): the audio bytes, or with `stream_format:"sse"` the speech.audio.* events. */
export function speechRouter(deps: { pipeline: Pipeline; grok: GrokClient }): Router {
  const router = new Router();
  const speak = async (ctx: Context) => {
    const req = parseSpeechRequest(await readJson(ctx));
    const abort = new AbortController();
    ctx.res.on("close", () => {
      if (!ctx.res.writableEnded) abort.abort(new Error("client disconnected")); // the response closing, not the request body ending
    });
    const wav = await synthesize(deps, req, String(ctx.state.requestId), abort.signal);
    if (!wav) return; // the client went away
    const audio = await encodeSpeech(wav, req.format);
    if (req.speed !== 1) ctx.set("x-grok2api-note", `speed ${req.speed} is not supported by grok.com; the audio is at normal speed`);
    if (req.streamFormat === "sse") {
      const events: string[] = [];
      for (let i = 0; i < audio.length; i += SSE_CHUNK) events.push(`data: ${JSON.stringify({ type: "speech.audio.delta", audio: audio.subarray(i, i + SSE_CHUNK).toString("base64") })}\n\n`);
      const input = estimateTokens(req.input);
      events.push(`data: ${JSON.stringify({ type: "speech.audio.done", usage: { input_tokens: input, output_tokens: 0, total_tokens: input } })}\n\n`);
      ctx.type = "text/event-stream";
      ctx.set("cache-control", "no-cache");
      ctx.body = events.join("");
      return;
    }
    ctx.type = CONTENT_TYPES[req.format];
    ctx.body = audio;
  };
  for (const prefix of ["/v1", ""]) router.post(`${prefix}/audio/speech`, speak);
  return router;
}
