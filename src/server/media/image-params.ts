import { ProxyError } from "../errors.js";
import { IMAGINE_ASPECT_RATIOS, type ImagineAspectRatio } from "../grok/imagine.js";
import type { ModelCatalog, ModelEntry } from "../grok/models.js";

/**
 * Request fields of the OpenAI Images API (api-conformance.md §3.3) as grok.com understands
 * them: `n` 1–10, `size` (or our `aspect_ratio`) → an Imagine aspect ratio (grok-protocol.md
 * §7.3), `response_format` url | b64_json, `model` → a catalogue image entry. Anything out of
 * range is a 400 naming the field.
 */

export type ImageFormat = "url" | "b64_json";

export interface ImageParams {
  model: ModelEntry;
  prompt: string;
  n: number;
  aspectRatio: ImagineAspectRatio;
  format: ImageFormat;
}

export const MAX_PROMPT_CHARS = 32_000;
export const DEFAULT_IMAGE_MODEL = "grok-imagine-image";
export const DEFAULT_EDIT_MODEL = "grok-imagine-image-edit";

/** OpenAI sizes with a documented ratio (§7.3); other WxH sizes take the nearest ratio. */
const SIZE_RATIOS: Record<string, ImagineAspectRatio> = {
  "1024x1024": "1:1",
  "256x256": "1:1",
  "512x512": "1:1",
  "1536x1024": "3:2",
  "1792x1024": "3:2",
  "1024x1536": "2:3",
  "1024x1792": "2:3",
  "1280x720": "16:9",
  "720x1280": "9:16",
};

const bad = (param: string, message: string) => new ProxyError(400, "invalid_value", message, { param });

function ratioValue(r: string): number {
  const [w, h] = r.split(":").map(Number);
  return w! / h!;
}

/** `size` ("auto", "WxH") or `aspect_ratio` ("16:9"…) → an Imagine aspect ratio. */
export function aspectRatioFor(size: unknown, aspect: unknown): ImagineAspectRatio {
  if (aspect !== undefined && aspect !== null) {
    if (typeof aspect !== "string" || !(IMAGINE_ASPECT_RATIOS as readonly string[]).includes(aspect)) throw bad("aspect_ratio", `aspect_ratio must be one of ${IMAGINE_ASPECT_RATIOS.join(", ")}`);
    return aspect as ImagineAspectRatio;
  }
  if (size === undefined || size === null || size === "auto") return "auto";
  if (typeof size !== "string") throw bad("size", "size must be a string such as 1024x1024 or auto");
  const known = SIZE_RATIOS[size];
  if (known) return known;
  const m = /^(\d{2,5})x(\d{2,5})$/.exec(size);
  if (!m) throw bad("size", `size must be auto or WIDTHxHEIGHT (e.g. ${Object.keys(SIZE_RATIOS).slice(0, 4).join(", ")}); got ${JSON.stringify(size).slice(0, 40)}`);
  const w = Number(m[1]);
  const h = Number(m[2]);
  if (w < 64 || h < 64 || w > 8192 || h > 8192) throw bad("size", "size must be between 64x64 and 8192x8192");
  const r = Math.log(w / h);
  let best: ImagineAspectRatio = "1:1";
  for (const c of IMAGINE_ASPECT_RATIOS) {
    if (c === "auto") continue;
    if (Math.abs(Math.log(ratioValue(c)) - r) < Math.abs(Math.log(ratioValue(best)) - r)) best = c;
  }
  return best;
}

/** The catalogue image model for a request: absent or an OpenAI image id (dall-e-*, gpt-image-*) → the default. */
export function imageModel(catalog: ModelCatalog, id: unknown, edit: boolean): ModelEntry {
  const fallback = edit ? DEFAULT_EDIT_MODEL : DEFAULT_IMAGE_MODEL;
  if (id !== undefined && id !== null && typeof id !== "string") throw bad("model", "model must be a string");
  const name = !id || /^(dall-e-|gpt-image-)/.test(id) ? fallback : id;
  const m = catalog.get(name);
  const images = catalog.list().filter((e) => e.kind === "image" && (e.image?.flow === "edit") === edit && !e.aliasOf);
  const choices = images.map((e) => e.id).join(", ");
  if (!m) throw new ProxyError(404, "model_not_found", `The model '${name}' does not exist; image models here: ${choices}`, { param: "model" });
  if (m.kind !== "image" || !m.image) throw bad("model", `'${name}' is not an image model; use one of ${choices}`);
  if (edit && m.image.flow !== "edit") throw bad("model", `'${name}' generates images; /v1/images/edits takes an edit model (${choices})`);
  if (!edit && m.image.flow === "edit") throw bad("model", `'${name}' edits images: use POST /v1/images/edits, or for generations one of ${choices}`);
  return m;
}

function intIn(v: unknown, param: string, min: number, max: number, def: number): number {
  if (v === undefined || v === null || v === "") return def;
  const n = typeof v === "string" && /^\d+$/.test(v.trim()) ? Number(v) : v;
  if (typeof n !== "number" || !Number.isInteger(n) || n < min || n > max) throw bad(param, `${param} must be an integer from ${min} to ${max}`);
  return n;
}

/** Validates a generations (JSON) or edits (multipart fields) request. */
export function imageParams(catalog: ModelCatalog, body: Record<string, unknown>, edit: boolean): ImageParams {
  const prompt = body.prompt;
  if (typeof prompt !== "string" || !prompt.trim()) throw new ProxyError(400, "missing_field", "prompt is required (a non-empty string)", { param: "prompt" });
  if (prompt.length > MAX_PROMPT_CHARS) throw bad("prompt", `prompt is longer than ${MAX_PROMPT_CHARS} characters`);
  const model = imageModel(catalog, body.model, edit);
  const n = intIn(body.n, "n", 1, 10, 1);
  const rf = body.response_format;
  if (rf !== undefined && rf !== null && rf !== "url" && rf !== "b64_json") throw bad("response_format", "response_format must be url or b64_json");
  // OpenAI's policy: gpt-image* ids answer b64_json unless asked otherwise; everything else a URL.
  const format: ImageFormat = rf === "url" || rf === "b64_json" ? rf : typeof body.model === "string" && body.model.startsWith("gpt-image") ? "b64_json" : "url";
  if (body.stream === true || body.stream === "true") throw bad("stream", "stream is not supported for images here; omit it (the answer comes as one JSON body)");
  return { model, prompt: prompt.trim(), n, aspectRatio: aspectRatioFor(body.size, body.aspect_ratio), format };
}
