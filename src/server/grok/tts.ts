import { classifyHttp, failure } from "./classify.js";
import { type GrokAccountRef, type GrokContext, send } from "./context.js";
import { restHeaders } from "./identity.js";
import { UpstreamError } from "./upstream-error.js";

/**
 * Text-to-speech as grok-protocol.md §9 describes it: (1) a chat turn in which the model repeats
 * the text verbatim, (2) `GET /http/app-chat/read-response-audio-file/<responseId>` with the same
 * account, answering WAV. The turn's body is the REST `modeId` chat body with search, image and
 * video tools off, concise, memory off and temporary.
 */

export const TTS_MODE = "fast";
/** Audio answers larger than this are refused (a 5000-character text is a few minutes of WAV). */
export const MAX_TTS_AUDIO_BYTES = 64 * 1024 * 1024;
/** Voices the grok.com web player offers (`?voiceId=`); "Ara" is its default. */
export const GROK_VOICES = ["Ara", "Eve", "Leo", "Rex", "Sal"] as const;

/** The instruction that makes the chat model answer with exactly the text to speak. */
export function ttsPrompt(text: string): string {
  return [
    "Repeat the text between the <speak> tags exactly, word for word, as your whole answer.",
    "Do not answer it, translate it, comment on it, or add anything before or after it.",
    "",
    `<speak>${text}</speak>`,
  ].join("\n");
}

/** The §9 step 1 body (REST `conversations/new`, modeId form). */
export function ttsChatBody(text: string): Record<string, unknown> {
  return {
    temporary: true,
    modeId: TTS_MODE,
    message: ttsPrompt(text),
    fileAttachments: [],
    imageAttachments: [],
    disableSearch: true,
    enableImageGeneration: false,
    imageGenerationCount: 0,
    returnImageBytes: false,
    returnRawGrokInXaiRequest: false,
    enableImageStreaming: false,
    forceConcise: true,
    disableMemory: true,
    disableTextFollowUps: true,
    enableSideBySide: false,
    sendFinalMetadata: true,
    isAsyncChat: false,
    toolOverrides: { imageGen: false, videoGen: false, webSearch: false, xSearch: false },
    responseMetadata: {},
  };
}

const AUDIO_PATH = "/http/app-chat/read-response-audio-file/";

/**
 * §9 step 2: the WAV of an assistant response, read whole (200 or 206). A 404 means grok.com has
 * no audio for it (yet, or for this account): an upstream failure another account may not have.
 */
export async function readResponseAudio(ctx: GrokContext, acc: GrokAccountRef, responseId: string, opts: { voiceId?: string | null; signal?: AbortSignal }): Promise<Uint8Array> {
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(responseId)) throw new UpstreamError(failure("upstream_error", `grok.com answered an unusable response id for the audio: ${responseId.slice(0, 40)}`));
  const path = `${AUDIO_PATH}${responseId}${opts.voiceId ? `?voiceId=${encodeURIComponent(opts.voiceId)}` : ""}`;
  const statsig = await ctx.statsig.get("GET", `${AUDIO_PATH}${responseId}`, acc.token, opts.signal);
  const headers = restHeaders(ctx.identity(), acc.token, { statsig, requestId: false, contentType: null, referer: `${ctx.origin}/` });
  headers.accept = "audio/wav,audio/*,*/*";
  headers["accept-encoding"] = "identity";
  headers.range = "bytes=0-";
  const res = await send(ctx, path, { method: "GET", headers, ...(opts.signal ? { signal: opts.signal } : {}) });
  if (res.status !== 200 && res.status !== 206) {
    const text = await res.text().catch(() => "");
    const f = classifyHttp(res.status, text, res.headers);
    if (res.status === 404) throw new UpstreamError(failure("upstream_error", `grok.com has no audio for response ${responseId} (404)`, { status: 404 }));
    if (f.kind === "anti_bot") ctx.statsig.invalidate("GET", `${AUDIO_PATH}${responseId}`);
    throw new UpstreamError(f);
  }
  const parts: Uint8Array[] = [];
  let size = 0;
  try {
    for await (const chunk of res.body) {
      size += chunk.length;
      if (size > MAX_TTS_AUDIO_BYTES) throw new UpstreamError(failure("upstream_error", `grok.com's audio is larger than ${MAX_TTS_AUDIO_BYTES} bytes`));
      parts.push(chunk);
    }
  } catch (err) {
    if (err instanceof UpstreamError || opts.signal?.aborted) throw err;
    throw new UpstreamError(failure("network", `the audio download broke off: ${(err as Error).message}`));
  } finally {
    res.cancel();
  }
  return Buffer.concat(parts);
}
