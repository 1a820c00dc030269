import Router from "@koa/router";
import type { Context } from "koa";
import { ProxyError } from "../errors.js";
import type { GrokClient } from "../grok/client.js";
import { MAX_EDIT_INPUTS } from "../grok/image-edit.js";
import type { ModelCatalog } from "../grok/models.js";
import { sniffImageType } from "../grok/upload.js";
import type { Logger } from "../log.js";
import type { ImageServing } from "../media/chat-images.js";
import { fetchImage, MAX_IMAGE_BYTES, MAX_TOTAL_BYTES, type UploadFile } from "../media/fetch-image.js";
import { imageCall, imageJobCost } from "../media/image-jobs.js";
import { type ImageParams, imageParams } from "../media/image-params.js";
import { parseImageUrl } from "../protocols/attachments.js";
import { inBandError } from "../runner/failure-status.js";
import type { Pipeline } from "../runner/pipeline.js";
import { mediaType, readJson } from "./middleware.js";
import { type MultipartBody, readMultipart } from "./multipart.js";

/**
 * The OpenAI Images API (api-conformance.md §3.3): `POST /v1/images/generations` (JSON) and
 * `POST /v1/images/edits` (multipart `image` / `image[]` + `prompt`, as `openai.images.edit`
 * sends it, or the 2026 JSON form `images:[{image_url}]`), each also without `/v1`. Every job
 * runs through the pipeline like chat (lease an account of the model's bucket and tier, fail
 * over, quota spent per image); images are downloaded and cached inside the upstream call and
 * answered as proxy URLs or `b64_json`.
 */
export interface ImagesDeps {
  pipeline: Pipeline;
  grok: GrokClient;
  catalog: () => ModelCatalog;
  /** The per-request ImageServing (cache, downloads, origin). */
  images: (req: { protocol: string; host: string }, prompt: string | null, extra?: Partial<ImageServing>) => ImageServing;
  /** `image_url_allow_private` for JSON edits with URLs. */
  allowPrivate: () => boolean;
  log: Logger;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === "object" && !Array.isArray(v);
const IMAGE_FIELD = /^image(\[\d*\])?$/;

async function runJob(ctx: Context, deps: ImagesDeps, p: ImageParams, inputs: UploadFile[] = []): Promise<void> {
  const abort = new AbortController();
  ctx.res.on("close", () => {
    if (!ctx.res.writableEnded) abort.abort(new Error("client disconnected")); // the response closing, not the request body ending
  });
  const serving = deps.images(ctx, p.prompt, { mode: p.format === "b64_json" ? "base64" : "url" });
  const job = { model: p.model, prompt: p.prompt, n: p.n, aspectRatio: p.aspectRatio, inputs };
  const served: string[] = [];
  const run = deps.pipeline.run({
    need: { bucket: p.model.bucket, cost: imageJobCost(job), minTier: p.model.minTier, label: p.model.id },
    call: imageCall(deps.grok, job, serving),
    requestId: String(ctx.state.requestId),
    signal: abort.signal,
    buffered: true,
  });
  for await (const e of run) {
    if (e.type === "error") throw inBandError(e.error);
    if (e.type === "done") break;
    if (e.type === "image" && e.servedUrl) served.push(e.servedUrl);
  }
  if (abort.signal.aborted) return;
  ctx.type = "application/json";
  ctx.body = {
    created: Math.floor(Date.now() / 1000),
    data: served.map((u) => (p.format === "b64_json" ? { b64_json: u.slice(u.indexOf(",") + 1) } : { url: u })),
  };
}

/** One input image: a PNG, JPEG, WebP or GIF by its bytes, agreeing with its declared type, within 32 MiB. */
function checkInput(param: string, name: string, declared: string, data: Buffer): UploadFile {
  if (data.length > MAX_IMAGE_BYTES) throw new ProxyError(413, "payload_too_large", `${param}: image larger than 32 MiB`, { param });
  const sniffed = sniffImageType(data);
  if (!sniffed) throw new ProxyError(400, "invalid_value", `${param}: '${name}' is not a PNG, JPEG, WebP or GIF image`, { param });
  const d = declared === "image/jpg" ? "image/jpeg" : declared;
  if (d.startsWith("image/") && d !== sniffed) throw new ProxyError(400, "invalid_value", `${param}: declared ${declared} but the data is ${sniffed}`, { param });
  return { name: name || `image.${sniffed.split("/")[1]}`, mime: sniffed, data };
}

function checkCount(files: UploadFile[]): void {
  if (!files.length) throw new ProxyError(400, "missing_field", "image is required: send the picture to edit as the multipart file part 'image' (or 'image[]' for several)", { param: "image" });
  if (files.length > MAX_EDIT_INPUTS) throw new ProxyError(400, "invalid_value", `at most ${MAX_EDIT_INPUTS} images can be edited together (grok.com's limit); got ${files.length}`, { param: "image" });
  const total = files.reduce((n, f) => n + f.data.length, 0);
  if (total > MAX_TOTAL_BYTES) throw new ProxyError(413, "payload_too_large", "images exceed 64 MiB in total", { param: "image" });
}

function maskRefused(): ProxyError {
  return new ProxyError(400, "unsupported", "mask is not supported: grok.com edits the whole image from the prompt (describe the area to change in the prompt instead)", { param: "mask" });
}

/** Multipart edits: fields become the body object (first value each), image parts the inputs. */
function fromMultipart(mp: MultipartBody): { body: Obj; files: UploadFile[] } {
  const body: Obj = {};
  for (const [k, v] of mp.fields) {
    if (k === "mask") throw maskRefused();
    body[k] = v[0];
  }
  const images = mp.files.filter((f) => IMAGE_FIELD.test(f.field));
  for (const f of mp.files) {
    if (f.field === "mask") throw maskRefused();
    if (!IMAGE_FIELD.test(f.field)) throw new ProxyError(400, "invalid_value", `unexpected file part '${f.field}'; the picture goes in 'image' (or 'image[]')`, { param: f.field });
  }
  if (images.length > MAX_EDIT_INPUTS) checkCount(images.map((f) => ({ name: f.filename, mime: f.type, data: f.data })));
  const param = (i: number) => (images.length > 1 ? `image[${i}]` : "image");
  const files = images.map((f, i) => checkInput(param(i), f.filename, f.type, f.data));
  return { body, files };
}

/** The 2026 JSON edit form: `images: [{image_url: "https://…" | "data:…"}]`. */
async function fromJson(body: Obj, deps: ImagesDeps, signal: AbortSignal): Promise<UploadFile[]> {
  if (body.mask !== undefined && body.mask !== null) throw maskRefused();
  const list = body.images ?? (body.image !== undefined ? [body.image] : undefined);
  if (!Array.isArray(list)) throw new ProxyError(400, "missing_field", "images is required: [{\"image_url\": \"https://… or data:image/…\"}]", { param: "images" });
  if (list.length > MAX_EDIT_INPUTS) checkCount(list.map(() => ({ name: "", mime: "", data: Buffer.alloc(0) })));
  const files: UploadFile[] = [];
  for (const [i, item] of list.entries()) {
    const param = `images[${i}]`;
    if (isObj(item) && typeof item.file_id === "string") throw new ProxyError(400, "unsupported", `${param}: file_id inputs are not supported (there is no Files API here); send image_url`, { param });
    const url = isObj(item) ? (isObj(item.image_url) ? item.image_url.url : item.image_url) : item;
    const a = parseImageUrl(url, `${param}.image_url`, i);
    if (a.kind === "data") files.push(checkInput(`${param}.image_url`, a.name, a.mime, a.data));
    else {
      const f = await fetchImage(a.url, `${param}.image_url`, { allowPrivate: deps.allowPrivate(), signal, log: deps.log });
      files.push(checkInput(`${param}.image_url`, f.name, f.mime, Buffer.from(f.data)));
    }
  }
  return files;
}

export function imagesRouter(deps: ImagesDeps): Router {
  const router = new Router();
  const generations = async (ctx: Context) => {
    const body = await readJson(ctx);
    if (!isObj(body)) throw new ProxyError(400, "invalid_json", "Expected a JSON object");
    await runJob(ctx, deps, imageParams(deps.catalog(), body, false));
  };
  const edits = async (ctx: Context) => {
    let body: Obj;
    let files: UploadFile[];
    const type = mediaType(ctx);
    if (type === "application/json" || type.endsWith("+json")) {
      const json = await readJson(ctx);
      if (!isObj(json)) throw new ProxyError(400, "invalid_json", "Expected a JSON object");
      body = json;
      const p = imageParams(deps.catalog(), body, true); // field errors before any download
      const abort = new AbortController();
      ctx.res.on("close", () => {
        if (!ctx.res.writableEnded) abort.abort(new Error("client disconnected"));
      });
      files = await fromJson(body, deps, abort.signal);
      checkCount(files);
      return runJob(ctx, deps, p, files);
    }
    const mp = await readMultipart(ctx, { maxBytes: MAX_TOTAL_BYTES + 2 * 1024 * 1024, maxFileBytes: MAX_IMAGE_BYTES, maxFiles: 16, maxFieldBytes: 64 * 1024, maxParts: 64 });
    ({ body, files } = fromMultipart(mp));
    const p = imageParams(deps.catalog(), body, true);
    checkCount(files);
    await runJob(ctx, deps, p, files);
  };
  for (const prefix of ["/v1", ""]) {
    router.post(`${prefix}/images/generations`, generations);
    router.post(`${prefix}/images/edits`, edits);
  }
  return router;
}
