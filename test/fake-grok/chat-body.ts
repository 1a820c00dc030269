import type { AccountRecord, FakeState } from "./state.js";
import type { HttpFailure } from "./errors.js";
import { failures } from "./errors.js";
import { isPlainObject } from "./util.js";

export const MODE_IDS = ["auto", "fast", "expert", "heavy", "grok-420-computer-use-sa"] as const;
export const LEGACY_MODELS = [
  "grok-3", "grok-3-mini", "grok-4", "grok-4-heavy", "grok-4-mini-thinking-tahoe", "grok-4-1", "grok-4-1-non-thinking-w-tool",
  "grok-4-1-thinking-1108b", "grok-4-1-thinking-1129", "grok-420", "grok-2",
] as const;
export const MEDIA_MODELS = ["imagine-image-edit", "imagine-video-gen"] as const;
export const ASPECT_RATIOS = ["auto", "1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3", "2:1", "1:2", "19.5:9", "9:19.5", "20:9", "9:20"];
const BOOLEAN_KEYS = [
  "temporary", "disableSearch", "enableImageGeneration", "returnImageBytes", "returnRawGrokInXaiRequest", "enableImageStreaming",
  "forceConcise", "enableSideBySide", "sendFinalMetadata", "isReasoning", "disableTextFollowUps", "disableMemory", "forceSideBySide",
  "isAsyncChat", "disableSelfHarmShortCircuit", "searchAllConnectors", "enable420",
];

export type ChatKind = "chat" | "edit" | "video";

export interface ChatRequest {
  kind: ChatKind;
  prompt: string;
  modeId?: string;
  modelName?: string;
  modelMode?: string;
  fileAttachments: string[];
  inputAssets: string[];
  resolutionName?: string;
  /** Video turns: the requested length (textToVideo.duration / videoGenModelConfig.videoLength). */
  seconds?: number;
  parentResponseId?: string;
  /** Quota key the turn is charged to, and its cost. */
  quotaKey: string;
  cost: number;
  /** Label for userResponse.model (legacy modelName bodies); fixtures keep theirs otherwise. */
  modelLabel?: string;
}

type Result = ChatRequest | { failure: HttpFailure; reason: string };

const bad = (reason: string): Result => ({ failure: failures.invalid(reason), reason });

export function isKnownFile(state: FakeState, account: AccountRecord, id: string): boolean {
  const u = state.uploads.get(id) ?? [...state.uploads.values()].find((x) => x.uploadId === id);
  return !!u && u.owner === account.sso;
}

function checkBooleans(body: Record<string, unknown>): string | undefined {
  for (const k of BOOLEAN_KEYS) if (k in body && typeof body[k] !== "boolean") return `${k} must be a boolean`;
  if ("toolOverrides" in body) {
    if (!isPlainObject(body.toolOverrides)) return "toolOverrides must be an object";
    for (const [k, v] of Object.entries(body.toolOverrides)) if (typeof v !== "boolean") return `toolOverrides.${k} must be a boolean`;
  }
  return undefined;
}

function checkModel(body: Record<string, unknown>): Result | undefined {
  const hasMode = "modeId" in body;
  const hasName = "modelName" in body;
  if (hasMode === hasName) return bad("exactly one of modeId and modelName is required");
  if (hasMode) {
    if (!(MODE_IDS as readonly unknown[]).includes(body.modeId)) return bad(`unknown modeId ${JSON.stringify(body.modeId)}`);
    if ("modelMode" in body) return bad("modelMode cannot be combined with modeId");
    return undefined;
  }
  if (typeof body.modelName !== "string") return bad("modelName must be a string");
  if ("modelMode" in body && (typeof body.modelMode !== "string" || !/^MODEL_MODE_[A-Z0-9_]+$/.test(body.modelMode))) {
    return bad(`invalid modelMode ${JSON.stringify(body.modelMode)}`);
  }
  const known = [...LEGACY_MODELS, ...MEDIA_MODELS] as readonly string[];
  if (!known.includes(body.modelName)) return { failure: failures.modelNotFound(), reason: `unknown modelName ${body.modelName}` };
  return undefined;
}

function checkFiles(state: FakeState, account: AccountRecord, body: Record<string, unknown>): Result | string[] {
  const files = body.fileAttachments ?? [];
  if (!Array.isArray(files) || files.some((f) => typeof f !== "string")) return bad("fileAttachments must be an array of strings");
  for (const f of files as string[]) if (!isKnownFile(state, account, f)) return bad(`unknown file attachment ${f}`);
  if ("imageAttachments" in body && !Array.isArray(body.imageAttachments)) return bad("imageAttachments must be an array");
  return files as string[];
}

function mediaKind(state: FakeState, account: AccountRecord, body: Record<string, unknown>, req: ChatRequest): Result | undefined {
  const mgi = body.mediaGenInput;
  if (mgi !== undefined && !isPlainObject(mgi)) return bad("mediaGenInput must be an object");
  if (isPlainObject(mgi) && "imageToImage" in mgi) {
    const i2i = mgi.imageToImage;
    if (body.modelName !== "imagine-image-edit") return bad("mediaGenInput.imageToImage needs modelName imagine-image-edit");
    if (!isPlainObject(i2i)) return bad("imageToImage must be an object");
    if (typeof i2i.prompt !== "string" || !i2i.prompt) return bad("imageToImage.prompt must be a non-empty string");
    const assets = i2i.inputAssets;
    if (!Array.isArray(assets) || assets.length < 1 || assets.length > 8) return bad("imageToImage.inputAssets must hold 1-8 ids");
    for (const a of assets) {
      if (typeof a !== "string" || !state.uploads.has(a) || state.uploads.get(a)!.owner !== account.sso) {
        return bad(`inputAssets entry ${String(a)} is not a known fileMetadataId`);
      }
    }
    if ("aspectRatio" in i2i && !ASPECT_RATIOS.includes(i2i.aspectRatio as string)) return bad("invalid imageToImage.aspectRatio");
    return { ...req, kind: "edit", inputAssets: assets as string[], prompt: i2i.prompt, quotaKey: "image_edit", modelLabel: "imagine-image-edit" };
  }
  if (isPlainObject(mgi) && "textToVideo" in mgi) {
    if (state.options.refuseTextToVideo) return bad("unknown field mediaGenInput.textToVideo");
    const t2v = mgi.textToVideo;
    if (body.modelName !== "imagine-video-gen") return bad("mediaGenInput.textToVideo needs modelName imagine-video-gen");
    if (!isPlainObject(t2v)) return bad("textToVideo must be an object");
    if (typeof t2v.prompt !== "string" || !t2v.prompt) return bad("textToVideo.prompt must be a non-empty string");
    const d = t2v.duration;
    if (typeof d !== "number" || !Number.isInteger(d) || d < 1 || d > 15) return bad("textToVideo.duration must be an integer 1-15");
    const res = t2v.resolutionName ?? "720p";
    if (res !== "480p" && res !== "720p") return bad("textToVideo.resolutionName must be 480p or 720p");
    if ("aspectRatio" in t2v && !ASPECT_RATIOS.includes(t2v.aspectRatio as string)) return bad("invalid textToVideo.aspectRatio");
    if (body.kind !== "CONVERSATION_KIND_IMAGINE") return bad("textToVideo needs kind CONVERSATION_KIND_IMAGINE");
    return { ...req, kind: "video", resolutionName: res, seconds: d, quotaKey: res === "480p" ? "video" : "video_720p", modelLabel: "imagine-video-gen" };
  }
  if (body.modelName === "imagine-image-edit") return { ...req, kind: "edit", quotaKey: "image_edit", modelLabel: "imagine-image-edit" };
  const tools = body.toolOverrides as Record<string, unknown> | undefined;
  if (body.modelName === "imagine-video-gen" || tools?.videoGen === true) {
    const cfg = (body.responseMetadata as Record<string, any> | undefined)?.modelConfigOverride?.modelMap?.videoGenModelConfig;
    const res = cfg?.resolutionName === "480p" ? "480p" : "720p";
    const seconds = typeof cfg?.videoLength === "number" ? cfg.videoLength : undefined;
    return { ...req, kind: "video", resolutionName: res, ...(seconds !== undefined ? { seconds } : {}), quotaKey: res === "480p" ? "video" : "video_720p", modelLabel: String(body.modelName) };
  }
  return undefined;
}

/** Validates a conversations/new|responses body (§12.3) and classifies it as chat, edit or video. */
export function parseChatBody(state: FakeState, account: AccountRecord, body: unknown): Result {
  if (!isPlainObject(body)) return bad("request body must be a JSON object");
  if (typeof body.message !== "string") return bad("message must be a string");
  const boolErr = checkBooleans(body);
  if (boolErr) return bad(boolErr);
  const modelErr = checkModel(body);
  if (modelErr) return modelErr;
  const files = checkFiles(state, account, body);
  if (!Array.isArray(files)) return files;
  const isMedia = isPlainObject(body.mediaGenInput);
  if (!body.message && files.length === 0 && !isMedia) return bad("message may be empty only with attachments");
  for (const k of ["parentResponseId", "responseId"]) if (k in body && typeof body[k] !== "string") return bad(`${k} must be a string`);
  const modeId = typeof body.modeId === "string" ? body.modeId : undefined;
  const modelName = typeof body.modelName === "string" ? body.modelName : undefined;
  const modelMode = typeof body.modelMode === "string" ? body.modelMode : undefined;
  const legacyCost = modelMode === "MODEL_MODE_EXPERT" || modelMode === "MODEL_MODE_GROK_4_1_THINKING" ? 4 : 1;
  const base: ChatRequest = {
    kind: "chat",
    prompt: body.message,
    modeId,
    modelName,
    modelMode,
    fileAttachments: files,
    inputAssets: [],
    parentResponseId: (body.parentResponseId ?? body.responseId) as string | undefined,
    quotaKey: modeId ?? (modelName === "grok-4-heavy" ? "heavy" : "tokens"),
    cost: modeId || modelName === "grok-4-heavy" ? 1 : legacyCost,
    modelLabel: modelName,
  };
  return mediaKind(state, account, body, base) ?? base;
}
