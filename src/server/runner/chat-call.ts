import type { GrokSettings } from "../config/settings-schema.js";
import type { GrokEvent } from "../core/events.js";
import type { GrokChatRequest } from "../grok/chat-request.js";
import type { GrokAccountRef, GrokClient } from "../grok/client.js";
import type { ModelEntry } from "../grok/models.js";
import { type ImageServing, withImageDownloads } from "../media/chat-images.js";
import type { UploadFile } from "../media/fetch-image.js";
import { imageCall } from "../media/image-jobs.js";
import { failure } from "../grok/classify.js";
import type { UpstreamJob } from "./pipeline.js";

/**
 * The grok.com chat request for a flattened prompt. Any chat model may call grok's image tool
 * (grok-protocol.md §7.1), so image generation is on; with client tools active, grok's own
 * tools that would compete with them are switched off (image generation; the REST
 * `toolOverrides` of §4.2); its web search stays on and still surfaces as citations.
 */
export function buildChatRequest(prompt: string, model: ModelEntry, s: GrokSettings, opts: { clientTools: boolean }): GrokChatRequest {
  return {
    mode: model.gatewayMode ?? model.restModeId,
    message: prompt,
    fileIds: [],
    temporary: s.temporary,
    disableSearch: false,
    enableImageGeneration: !opts.clientTools,
    imageGenerationCount: 2,
    ...(opts.clientTools ? { toolOverrides: { imageGen: false, videoGen: false } } : {}),
  };
}

/**
 * Uploads the files with the leased account, then chats with their ids attached (same account,
 * UA and egress); generated images are downloaded with that account inside the call (`images`).
 */
export function chatCall(grok: GrokClient, model: ModelEntry, request: GrokChatRequest, files: UploadFile[], images?: ImageServing | null): UpstreamJob["call"] {
  if (model.kind === "image" && images) return imageModelCall(grok, model, files, images);
  const gateway = model.gatewayMode !== null;
  // without files, grok's own generator: no wrapping layer (nor a per-request generator function) held by every open stream
  const call: UpstreamJob["call"] = files.length ? (acc, signal) => withUploads(grok, request, files, acc, signal, gateway) : (acc, signal) => grok.chat(request, acc, signal, gateway);
  return images && request.enableImageGeneration ? withImageDownloads(call, images) : call;
}

/** Uploads the files with the leased account, then chats with their ids attached. */
async function* withUploads(grok: GrokClient, request: GrokChatRequest, files: UploadFile[], acc: GrokAccountRef, signal: AbortSignal, gateway: boolean): AsyncGenerator<GrokEvent> {
  const fileIds: string[] = [];
  for (const f of files) fileIds.push(await grok.upload(acc, f, signal));
  yield* grok.chat({ ...request, fileIds: [...request.fileIds, ...fileIds] }, acc, signal, gateway);
}

/**
 * An image model asked through chat: one image of its product (Imagine, the Lite chat tool, or an
 * edit of the message's images) from the last user message, shown as Markdown like grok's own
 * chat images. One image per request: the model's cost, as the pool counts it.
 */
function imageModelCall(grok: GrokClient, model: ModelEntry, files: UploadFile[], images: ImageServing): UpstreamJob["call"] {
  const prompt = (images.prompt ?? "").replace(/\s*\[image #\d+\]/g, "").trim(); // the adapters' image placeholders
  if (model.image?.flow === "edit" && !files.length) {
    return async function* () {
      yield { type: "error", error: failure("request", `${model.id} edits images: attach the picture to edit to the message (image_url)`) } satisfies GrokEvent;
    };
  }
  return imageCall(grok, { model, prompt, n: 1, aspectRatio: "auto", inputs: files }, images);
}
