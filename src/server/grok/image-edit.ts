import type { GrokEvent } from "../core/events.js";
import { failure } from "./classify.js";
import type { GrokAccountRef, GrokContext } from "./context.js";
import { postConversation } from "./rest-chat.js";
import { UpstreamError } from "./upstream-error.js";
import { uploadV2 } from "./upload.js";

/**
 * Image editing, [2026-08] flow (grok-protocol.md §7.4): every input image is uploaded with
 * `file_source=IMAGINE_SELF_UPLOAD_FILE_SOURCE` (Referer /imagine), then one
 * `conversations/new` turn with `modelName:"imagine-image-edit"` and
 * `mediaGenInput.imageToImage` over their `fileMetadataId`s streams the edited image
 * (`streamingImageGenerationResponse`, partial then final). One image per turn.
 */

export const IMAGINE_FILE_SOURCE = "IMAGINE_SELF_UPLOAD_FILE_SOURCE";
/** grok.com takes 1–8 input images per edit. */
export const MAX_EDIT_INPUTS = 8;

export interface EditRequest {
  prompt: string;
  /** fileMetadataIds of the uploaded inputs. */
  inputAssets: string[];
  aspectRatio?: string | null;
}

/** The exact [2026-08] edit body (§7.4). */
export function imageEditBody(req: EditRequest): Record<string, unknown> {
  return {
    modelName: "imagine-image-edit",
    message: req.prompt,
    enableImageStreaming: true,
    enableSideBySide: true,
    sendFinalMetadata: true,
    mediaGenInput: { imageToImage: { prompt: req.prompt, inputAssets: req.inputAssets, ...(req.aspectRatio ? { aspectRatio: req.aspectRatio } : {}) } },
  };
}

/** Upload v2 of an edit input (§6.2); resolves to its `fileMetadataId` (the edit needs exactly that id). */
export async function uploadImagineInput(ctx: GrokContext, acc: GrokAccountRef, file: { name: string; mime: string; data: Uint8Array }, signal?: AbortSignal): Promise<string> {
  const ref = await uploadV2(ctx, acc, file, { fileSource: IMAGINE_FILE_SOURCE, referer: `${ctx.origin}/imagine`, ...(signal ? { signal } : {}) });
  if (!ref.fileMetadataId) throw new UpstreamError(failure("upstream_error", "the upload answer carried no fileMetadataId (image editing needs one)"));
  return ref.fileMetadataId;
}

/** One edit turn over already-uploaded inputs. */
export function editImage(ctx: GrokContext, acc: GrokAccountRef, req: EditRequest, signal: AbortSignal): AsyncGenerator<GrokEvent> {
  return postConversation(ctx, imageEditBody(req), acc, signal, { referer: `${ctx.origin}/imagine` });
}
