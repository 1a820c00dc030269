import type { GrokEvent } from "../core/events.js";
import { type GrokChatRequest, restChatBody } from "./chat-request.js";
import { classifyHttp, classifyTransportError, failure } from "./classify.js";
import { type GrokAccountRef, type GrokContext, filteredTags } from "./context.js";
import { FrameParser } from "./frames.js";
import { restHeaders } from "./identity.js";
import { JsonObjectScanner } from "./json-scanner.js";
import { UpstreamError } from "./upstream-error.js";

export const CONVERSATION_PATH = "/rest/app-chat/conversations/new";

/**
 * `POST /rest/app-chat/conversations/new` (grok-protocol.md §4): one chat turn as an NDJSON
 * stream. An anti-bot rejection (HTTP, or as the first frame) is retried once with a fresh statsig.
 */
export function chatRest(ctx: GrokContext, req: GrokChatRequest, acc: GrokAccountRef, signal: AbortSignal): AsyncGenerator<GrokEvent> {
  return postConversation(ctx, restChatBody(req), acc, signal);
}

/**
 * The same POST with a body built by the caller (the media flows: text-to-video's
 * `mediaGenInput`, media-post video, the TTS chat turn, image edits) and, optionally, its own
 * Referer. A non-200 answer throws an UpstreamError before any event; an anti-bot rejection is
 * retried once with a fresh statsig; the stream always ends with `done` or an `error` event.
 */
export async function* postConversation(ctx: GrokContext, body: Record<string, unknown>, acc: GrokAccountRef, signal: AbortSignal, opts: { referer?: string } = {}): AsyncGenerator<GrokEvent> {
  for (let attempt = 0; ; attempt++) {
    const statsig = await ctx.statsig.get("POST", CONVERSATION_PATH, acc.token, signal);
    let res;
    try {
      res = await ctx.transport.request(`${ctx.origin}${CONVERSATION_PATH}`, {
        method: "POST",
        headers: restHeaders(ctx.identity(), acc.token, { statsig, ...(opts.referer ? { referer: opts.referer } : {}) }),
        body: JSON.stringify(body),
        signal,
        proxyUrl: ctx.proxyUrl(),
      });
    } catch (err) {
      if (signal.aborted) throw err;
      throw new UpstreamError(classifyTransportError(err));
    }
    if (res.status !== 200) {
      const f = classifyHttp(res.status, await res.text().catch(() => ""), res.headers);
      if (f.kind === "anti_bot" && attempt === 0) {
        ctx.statsig.invalidate("POST", CONVERSATION_PATH); // fresh statsig, same account, once
        continue;
      }
      throw new UpstreamError(f);
    }
    const events = readRest(ctx, res.body, res.cancel, signal);
    const first = await events.next();
    if (!first.done && first.value.type === "error" && first.value.error.kind === "anti_bot" && attempt === 0) {
      await events.return(undefined);
      ctx.statsig.invalidate("POST", CONVERSATION_PATH);
      continue;
    }
    if (!first.done) {
      yield first.value;
      yield* events;
    }
    return;
  }
}

/**
 * The response body as events; always ends with `done` or an `error` event. Pull-based: the next
 * body chunk is read only once the previous chunk's events were taken, and both transports read
 * the socket only on demand, so a slow reader holds back grok.com (test/grok/backpressure.test.ts).
 */
async function* readRest(ctx: GrokContext, body: AsyncIterable<Uint8Array>, cancel: () => void, signal: AbortSignal): AsyncGenerator<GrokEvent> {
  const parser = new FrameParser({ filteredTags: filteredTags(ctx) });
  const scanner = new JsonObjectScanner();
  const frames = (objects: unknown[]) => objects.flatMap((o) => parser.push(o));
  try {
    try {
      for await (const chunk of body) yield* frames(scanner.push(chunk));
    } catch (err) {
      if (signal.aborted) throw err;
      yield { type: "error", error: classifyTransportError(err) };
      return;
    }
    yield* frames(scanner.end());
    if (scanner.truncated) {
      yield { type: "error", error: failure("network", "grok.com closed the stream in the middle of a frame") };
      return;
    }
    yield* parser.end();
    yield { type: "done", responseId: parser.responseId, status: "completed" };
  } finally {
    cancel();
    if (parser.unknownFrames || scanner.noise) ctx.log.debug("rest stream had unknown frames", { unknownFrames: parser.unknownFrames, noise: scanner.noise });
  }
}
