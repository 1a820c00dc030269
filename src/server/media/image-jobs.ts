import type { GrokEvent } from "../core/events.js";
import type { GrokClient } from "../grok/client.js";
import type { GrokAccountRef } from "../grok/context.js";
import type { ImagineAspectRatio } from "../grok/imagine.js";
import type { ModelEntry } from "../grok/models.js";
import { type ImageServing, type UpstreamCall, withImageDownloads } from "./chat-images.js";
import type { UploadFile } from "./fetch-image.js";

/**
 * The upstream call of one image job, by the model's flow (grok/models.ts `image.flow`):
 * the Imagine WebSocket round, the chat image tool on the fast mode (`Drawing: …`, one image
 * per turn, §3.13), or the edit flow (inputs uploaded with the same account, one edit turn per
 * image, §7.4). Every final image is downloaded and cached inside the call by
 * withImageDownloads, so it happens with the leased account before the lease is released.
 */
export interface ImageJob {
  model: ModelEntry;
  prompt: string;
  n: number;
  aspectRatio: ImagineAspectRatio;
  /** Edit inputs (flow "edit"). */
  inputs?: UploadFile[];
}

type Grok = Pick<GrokClient, "imagine" | "chat" | "uploadImagineInput" | "editImage">;

/** Only images and failures of the inner turns go on; one `done` closes the whole job. */
async function* imagesOf(turn: AsyncIterable<GrokEvent>, onImage: () => boolean): AsyncGenerator<GrokEvent, boolean> {
  for await (const e of turn) {
    if (e.type === "error") {
      yield e;
      return false;
    }
    if (e.type === "done") return true;
    if (e.type === "image") {
      yield e;
      if (e.final && !e.moderated && onImage()) return true;
    }
  }
  return true;
}

function rawCall(grok: Grok, job: ImageJob): UpstreamCall {
  const flow = job.model.image?.flow ?? "imagine";
  return async function* (acc: GrokAccountRef, signal: AbortSignal): AsyncGenerator<GrokEvent> {
    if (flow === "imagine") {
      yield* grok.imagine(acc, { prompt: job.prompt, n: job.n, aspectRatio: job.aspectRatio, pro: job.model.image?.pro === true }, signal);
      return;
    }
    let got = 0;
    const one = () => ++got >= 1; // per turn: stop at its first final image
    if (flow === "chat") {
      for (let i = 0; i < job.n; i++) {
        got = 0;
        const turn = grok.chat({ mode: job.model.gatewayMode ?? job.model.restModeId, message: `Drawing: ${job.prompt}`, fileIds: [], temporary: true, disableSearch: true, enableImageGeneration: true, imageGenerationCount: 1 }, acc, signal, job.model.gatewayMode !== null);
        if (!(yield* imagesOf(turn, one))) return;
      }
    } else {
      const inputAssets: string[] = [];
      for (const f of job.inputs ?? []) inputAssets.push(await grok.uploadImagineInput(acc, f, signal));
      for (let i = 0; i < job.n; i++) {
        got = 0;
        const turn = grok.editImage(acc, { prompt: job.prompt, inputAssets, aspectRatio: job.aspectRatio === "auto" ? null : job.aspectRatio }, signal);
        if (!(yield* imagesOf(turn, one))) return;
      }
    }
    yield { type: "done", responseId: null, status: "completed" };
  };
}

/** The job's call with downloads: at most `n` images, none at all is a failure (moderation named). */
export function imageCall(grok: Grok, job: ImageJob, serving: ImageServing): UpstreamCall {
  return withImageDownloads(rawCall(grok, job), { ...serving, requireImage: true, maxImages: job.n });
}

/** Queries an image job spends: one per image (§5.4). */
export function imageJobCost(job: Pick<ImageJob, "model" | "n">): number {
  return job.model.cost * job.n;
}
