import type { Context } from "koa";
import type { Tier } from "../core/account.js";
import type { GrokEvent } from "../core/events.js";
import type { Turn } from "../core/turn.js";
import { ProxyError } from "../errors.js";
import type { ModelEntry } from "../grok/models.js";
import type { UpstreamJob } from "../runner/pipeline.js";
import type { UploadFile } from "./fetch-image.js";
import { type VideoCallDeps, type VideoResult, videoCall, videoDeadlineMs } from "./video-call.js";
import { DEFAULT_SECONDS, type FittedVideo, checkPrompt, fitToTiers, parseAspectRatio, parseModeFlag, parseResolution, parseSeconds, parseSize } from "./video-spec.js";
import { mediaUrl } from "./urls.js";

/**
 * Video models in chat (any protocol the turn runner serves): the last user message is the
 * prompt (`--mode=…` parsed out of it), the message images are the image-to-video inputs, and
 * `aspect_ratio`, `duration` / `video_length`, `resolution` / `resolution_name`, `size` — at the
 * top level of the body or in the original's `video_config` — shape the video. Progress becomes
 * reasoning ("Generating video… 46%") so chat UIs show it while keep-alives hold the stream; the
 * answer is `<video src="<proxy URL>" controls="controls"></video>` plus a Markdown link for UIs
 * that do not render HTML. URLs use the request's own origin unless `base_url` is set.
 */

export interface VideoServing {
  call: VideoCallDeps;
  /** Origin for the proxy URLs of this request (base_url or the request's own). */
  origin: (ctx: Context) => string;
  tiers: () => Record<Tier, number>;
}

type Obj = Record<string, unknown>;

export interface VideoTurn {
  fitted: FittedVideo;
  /** The pipeline job for the resolved input images. */
  job(files: UploadFile[], requestId: string, signal: AbortSignal): UpstreamJob;
}

export function videoTag(url: string): string {
  return `<video src="${url.replace(/"/g, "&quot;")}" controls="controls"></video>`;
}

/** Validates the video options of a chat body (400s name the field) and builds the job. */
export function prepareVideoTurn(v: VideoServing | undefined, ctx: Context, turn: Turn, body: unknown, model: ModelEntry): VideoTurn {
  if (!v) throw new ProxyError(501, "unsupported", `The model ${model.id} makes videos, which this server is not set up to serve`, { param: "model" });
  const b = (body && typeof body === "object" ? body : {}) as Obj;
  const cfg = (b.video_config && typeof b.video_config === "object" ? b.video_config : {}) as Obj;
  const pick = (...keys: string[]): [unknown, string] => {
    for (const k of keys) {
      if (b[k] !== undefined && b[k] !== null) return [b[k], k];
      if (cfg[k] !== undefined && cfg[k] !== null) return [cfg[k], `video_config.${k}`];
    }
    return [undefined, keys[0]!];
  };
  const last = [...turn.messages].reverse().find((m) => m.role === "user");
  // The adapters mark where images were (`[image #n]`); for a video the images are the inputs, not text.
  const { prompt, mode: flagMode } = parseModeFlag((last?.text ?? "").replace(/\[image #\d+\]/g, " "), "messages");
  const [presetRaw, presetParam] = pick("preset", "mode");
  const mode = presetRaw !== undefined ? parseModeFlag(`--mode=${String(presetRaw)}`, presetParam).mode : flagMode;
  checkPrompt(prompt, "messages", turn.attachments.length > 0);
  const size = parseSize(...pick("size"));
  const aspectRatio = parseAspectRatio(...pick("aspect_ratio", "aspectRatio")) ?? size?.aspectRatio ?? "16:9";
  const seconds = parseSeconds(...pick("duration", "video_length", "seconds")) ?? DEFAULT_SECONDS;
  const resolution = parseResolution(...pick("resolution", "resolution_name")) ?? size?.resolution ?? "720p";
  const fitted = fitToTiers({ prompt, mode, aspectRatio, seconds, resolution }, v.tiers());
  const origin = v.origin(ctx);
  return {
    fitted,
    job(files, requestId, signal) {
      const holder: { result: VideoResult | null } = { result: null };
      const inner = videoCall(v.call, fitted.spec, files, holder);
      const call = async function* (acc: Parameters<UpstreamJob["call"]>[0], sig: AbortSignal): AsyncGenerator<GrokEvent> {
        const s = fitted.spec;
        let accepted = false;
        for await (const e of inner(acc, sig)) {
          if (e.type !== "video") {
            yield e;
            continue;
          }
          if (!accepted) {
            // Said with grok.com's first progress frame, not before: output commits the attempt.
            accepted = true;
            yield { type: "reasoning", text: `Generating a ${s.seconds} s ${s.aspectRatio} ${s.resolution} video (mode ${s.mode})${files.length ? ` from ${files.length} image${files.length > 1 ? "s" : ""}` : ""}…\n`, header: false };
            for (const note of fitted.notes) yield { type: "reasoning", text: `Note: ${note}.\n`, header: false };
          }
          if (!holder.result) {
            yield { type: "reasoning", text: `Generating video… ${e.progress}%\n`, header: false };
            continue;
          }
          const url = mediaUrl(origin, "video", holder.result.video.name);
          yield { type: "reasoning", text: "Generating video… 100%\n", header: false };
          const notes = fitted.notes.map((n) => `\n\n*(${n}.)*`).join("");
          yield { type: "text", text: `${videoTag(url)}\n\n[${holder.result.video.name}](${url})${notes}` };
        }
      };
      // Not buffered: a media job commits once grok.com accepted it (its first frame) and is never re-run elsewhere.
      return { need: { bucket: fitted.bucket, cost: 1, minTier: fitted.minTier, label: model.id }, call, requestId, signal, totalTimeoutMs: videoDeadlineMs(v.call.settings()) };
    },
  };
}
