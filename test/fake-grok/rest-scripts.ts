/**
 * Builds the REST NDJSON frames of one turn by replaying the recorded fixtures
 * (fixtures/rest-*.ndjson) with live ids and the scenario's text.
 */
import type { ChatKind } from "./chat-body.js";
import type { Frame } from "./fixtures.js";
import type { Framing, Scenario } from "./types.js";
import { clone, FIXTURE_USER_ID, instantiate, loadRest, pick } from "./fixtures.js";
import { citationSplit, DEFAULT_REASONING, DEFAULT_TEXT, MARKUP_TEXT, SLOW_DELAY_MS, SPLIT_UTF8_TEXT, tokenize } from "./text.js";
import { isoMicros } from "./util.js";

export interface RestTurn {
  scenario: Scenario;
  kind: ChatKind;
  prompt: string;
  userId: string;
  conversationId: string;
  userResponseId: string;
  assistantResponseId: string;
  parentResponseId?: string;
  modelLabel?: string;
  fileAttachments: string[];
  resolutionName?: string;
}

export interface RestPlan {
  frames: Frame[];
  framing: Framing;
  delayMs: number;
  /** Stop after this many frames and keep the connection open silently. */
  stallAfter?: number;
  /** After this many frames, send half of the next one and reset the connection. */
  dropAfter?: number;
  /** Cut the byte stream at offsets inside characters and objects. */
  split?: boolean;
  /** Answer text the turn produced (for the response store). */
  answer: string;
  /** False when the turn did not complete (error frames, truncation). */
  completes: boolean;
}

const isResp = (f: Frame) => f.result?.response !== undefined;
const resp = (f: Frame): Frame => f.result.response;
const isAnswer = (f: Frame) => isResp(f) && typeof resp(f).token === "string" && resp(f).token !== "" && !resp(f).isThinking && !String(resp(f).token).includes("<grok:render");
const isTag = (f: Frame) => isResp(f) && typeof resp(f).token === "string" && String(resp(f).token).includes("<grok:render");

/** Instantiates a fixture for this turn: fixture ids → live ids, other UUIDs fresh. */
function frames(name: string, turn: RestTurn): Frame[] {
  const fx = loadRest(name);
  const ids = new Map<string, string>([[FIXTURE_USER_ID, turn.userId]]);
  const conv = fx.frames.find((f) => f.result?.conversation)?.result.conversation.conversationId;
  const user = fx.frames.find((f) => isResp(f) && resp(f).userResponse)?.result.response.userResponse.responseId;
  const asst = fx.frames.find((f) => isResp(f) && resp(f).modelResponse?.responseId)?.result.response.modelResponse.responseId;
  if (conv) ids.set(conv, turn.conversationId);
  if (user) ids.set(user, turn.userResponseId);
  if (asst) ids.set(asst, turn.assistantResponseId);
  const out = instantiate(fx.frames, ids);
  const now = Date.now();
  for (const f of out) {
    const c = f.result?.conversation;
    if (c?.createTime) c.createTime = c.modifyTime = isoMicros(now);
    const u = isResp(f) ? resp(f).userResponse : undefined;
    if (u) {
      u.message = turn.prompt;
      if ("model" in u && turn.modelLabel) u.model = turn.modelLabel;
      if (u.createTime) u.createTime = new Date(now).toISOString();
      if (Array.isArray(u.fileAttachments)) u.fileAttachments = [...turn.fileAttachments];
    }
    const m = isResp(f) ? resp(f).modelResponse : undefined;
    if (m?.parentResponseId !== undefined) m.parentResponseId = turn.userResponseId;
    if (m?.createTime) m.createTime = new Date(now).toISOString();
  }
  return out;
}

function withToken(tpl: Frame, token: string): Frame {
  const f = clone(tpl);
  f.result.response.token = token;
  return f;
}

function withMessage(tpl: Frame, message: string, extra: Record<string, unknown> = {}): Frame {
  const f = clone(tpl);
  Object.assign(f.result.response.modelResponse, { message, ...extra });
  return f;
}

function tokens(tpl: Frame, text: string): Frame[] {
  return tokenize(text).map((t) => withToken(tpl, t));
}

interface TextParts {
  conv: Frame;
  user: Frame;
  meta: Frame;
  answer: Frame;
  soft: Frame;
  model: Frame;
  title: Frame;
}

function textParts(turn: RestTurn): TextParts {
  const f = frames("rest-text.ndjson", turn);
  return {
    conv: pick(f, (x) => x.result?.conversation, "conversation"),
    user: pick(f, (x) => isResp(x) && resp(x).userResponse, "userResponse"),
    meta: pick(f, (x) => isResp(x) && resp(x).llmInfo, "llmInfo"),
    answer: pick(f, isAnswer, "answer token"),
    soft: pick(f, (x) => isResp(x) && resp(x).isSoftStop === true, "soft stop"),
    model: pick(f, (x) => isResp(x) && resp(x).modelResponse, "modelResponse"),
    title: pick(f, (x) => x.result?.title, "title"),
  };
}

export function textFrames(turn: RestTurn, text: string): Frame[] {
  const p = textParts(turn);
  return [p.conv, p.user, p.meta, ...tokens(p.answer, text), p.soft, withMessage(p.model, text), p.title];
}

type SearchMode = "none" | "search" | "search-tags" | "search-no-tool-call-id";

function thinkingFrames(turn: RestTurn, text: string, reasoning: string, mode: SearchMode): Frame[] {
  const f = frames("rest-thinking-search.ndjson", turn);
  const get = (pred: (x: Frame) => boolean, what: string) => pick(f, pred, what);
  const conv = get((x) => x.result?.conversation, "conversation");
  const user = get((x) => isResp(x) && resp(x).userResponse, "userResponse");
  const ui = get((x) => isResp(x) && resp(x).uiLayout, "uiLayout");
  const header = get((x) => isResp(x) && resp(x).messageTag === "header", "header");
  const thought = get((x) => isResp(x) && resp(x).isThinking && resp(x).messageTag === "assistant", "reasoning");
  const answer = get(isAnswer, "answer");
  const soft = get((x) => isResp(x) && resp(x).isSoftStop === true, "soft stop");
  const model = get((x) => isResp(x) && resp(x).modelResponse, "modelResponse");
  const title = get((x) => x.result?.title, "title");
  const head = [conv, user, ui, header, ...tokens(thought, reasoning)];
  if (mode === "none") {
    return [...head, ...tokens(answer, text), soft, withMessage(model, text, { webSearchResults: [], cardAttachmentsJson: [] }), title];
  }
  const tool = get((x) => isResp(x) && resp(x).messageTag === "tool_usage_card", "tool card");
  const results = get((x) => isResp(x) && resp(x).webSearchResults, "search results");
  if (mode === "search-no-tool-call-id") delete results.result.response.toolUsageCardId;
  const cards = f.filter((x) => isResp(x) && resp(x).cardAttachment).map(clone);
  const tags = f.filter(isTag).map(clone);
  const [part1, part2, tail] = citationSplit(tokenize(text));
  const body: Frame[] = [];
  const message = part1.join("") + resp(tags[0]!).token + part2.join("") + resp(tags[1]!).token + tail;
  const emitTag = (i: number) => {
    if (mode === "search-tags") {
      const tag = String(resp(tags[i]!).token);
      body.push(withToken(tags[i]!, tag.slice(0, 37)), withToken(tags[i]!, tag.slice(37)), cards[i]!);
    } else body.push(tags[i]!);
  };
  body.push(...part1.map((t) => withToken(answer, t)));
  emitTag(0);
  body.push(...part2.map((t) => withToken(answer, t)));
  emitTag(1);
  if (tail) body.push(withToken(answer, tail));
  const early = mode === "search-tags" ? [] : cards;
  return [...head, tool, results, ...early, ...body, soft, withMessage(model, message), title];
}

function markupFrames(turn: RestTurn, text: string): Frame[] {
  const p = textParts(turn);
  const tool = pick(frames("rest-thinking-search.ndjson", turn), (x) => isResp(x) && resp(x).messageTag === "tool_usage_card", "tool card");
  tool.result.response.responseId = turn.assistantResponseId;
  const toks = tokenize(text, 12).map((t) => withToken(p.answer, t));
  return [p.conv, p.user, p.meta, tool, ...toks, p.soft, withMessage(p.model, text), p.title];
}

function imageCardFrames(turn: RestTurn, moderated: boolean): Frame[] {
  const f = frames("rest-image-2026-card.ndjson", turn);
  if (!moderated) return f;
  return f.map((x) => {
    const card = isResp(x) ? resp(x).cardAttachment : undefined;
    if (card && typeof card.jsonData === "string" && card.jsonData.includes("imageUuid")) {
      const jd = JSON.parse(card.jsonData);
      jd.image_chunk.moderated = true;
      card.jsonData = JSON.stringify(jd);
    }
    const m = isResp(x) ? resp(x).modelResponse : undefined;
    if (m?.cardAttachmentsJson) m.cardAttachmentsJson = m.cardAttachmentsJson.map((s: string) => s.replace('"moderated":false', '"moderated":true'));
    return x;
  });
}

function image2025Frames(turn: RestTurn, moderated: boolean): Frame[] {
  const f = frames("rest-image-2025.ndjson", turn);
  if (!moderated) return f;
  for (const x of f) {
    const s = isResp(x) ? resp(x).streamingImageGenerationResponse : undefined;
    if (s) s.moderated = true;
    const m = isResp(x) ? resp(x).modelResponse : undefined;
    if (m) m.generatedImageUrls = [];
  }
  return f;
}

function videoFrames(turn: RestTurn, moderated: boolean): Frame[] {
  const f = frames("rest-video.ndjson", turn);
  for (const x of f) {
    const v = isResp(x) ? resp(x).streamingVideoGenerationResponse : undefined;
    if (v && turn.resolutionName) v.resolutionName = turn.resolutionName;
  }
  if (!moderated) return f;
  const out: Frame[] = [];
  for (const x of f) {
    const v = isResp(x) ? resp(x).streamingVideoGenerationResponse : undefined;
    if (v && v.progress === 100) {
      for (const k of ["videoUrl", "thumbnailImageUrl", "assetId"]) delete v[k];
      v.audioUrls = [];
      v.moderated = true;
    }
    if (isResp(x) && resp(x).token === "I generated a video") continue;
    const m = isResp(x) ? resp(x).modelResponse : undefined;
    if (m) Object.assign(m, { message: "", fileAttachments: [] });
    out.push(x);
  }
  return out;
}

/** The in-stream error lines of §4.6 e: 0 code 8, 1 code 7, 2 usage limit, 3 streamErrors. */
export function errorFrame(turn: RestTurn, index: 0 | 1 | 2 | 3): Frame {
  const f = frames("rest-errors.ndjson", turn)[index]!;
  const m = f.result?.response?.modelResponse;
  if (m) m.responseId = turn.assistantResponseId;
  return f;
}

const CONTENT = new Set(["text", "thinking", "search", "search-tags", "search-no-tool-call-id", "markup", "image-gen", "image-gen-2025", "imagine"]);

/** Frames of the successful script the request body (kind) or scenario asks for. */
function successFrames(turn: RestTurn): { frames: Frame[]; framing?: Framing; answer: string } {
  const sc = turn.scenario;
  const kind = sc.name === "image-edit" ? "edit" : sc.name === "video" ? "video" : turn.kind;
  if (kind === "edit" && (CONTENT.has(sc.name) || sc.name === "image-edit")) return { frames: frames("rest-image-edit.ndjson", turn), answer: "" };
  if (kind === "video") return { frames: videoFrames(turn, false), answer: "I generated a video" };
  const text = sc.text ?? (sc.name === "markup" ? MARKUP_TEXT : sc.name === "split-utf8" ? SPLIT_UTF8_TEXT : DEFAULT_TEXT);
  const reasoning = sc.reasoning ?? DEFAULT_REASONING;
  switch (sc.name) {
    case "thinking":
      return { frames: thinkingFrames(turn, text, reasoning, "none"), answer: text };
    case "search":
    case "search-tags":
    case "search-no-tool-call-id":
      return { frames: thinkingFrames(turn, text, reasoning, sc.name), answer: text };
    case "markup":
      return { frames: markupFrames(turn, text), answer: text };
    case "image-gen":
    case "imagine":
      return { frames: imageCardFrames(turn, false), framing: loadRest("rest-image-2026-card.ndjson").framing, answer: "" };
    case "image-gen-2025":
      return { frames: image2025Frames(turn, false), answer: "I generated images with the prompt: 'a moon'" };
    default:
      return { frames: textFrames(turn, text), answer: text };
  }
}

/** The flatter envelope seen on /responses: {"result":{"token":…,"responseId":…}} (§4.3). */
function flatten(f: Frame): Frame {
  const r = f.result?.response;
  return r && typeof r.token === "string" ? { result: { ...r } } : f;
}

const firstToken = (fr: Frame[]) => Math.max(0, fr.findIndex((x) => isResp(x) && typeof resp(x).token === "string" && resp(x).token !== ""));

/** Builds the REST plan of a turn for any non-HTTP-failure scenario. */
export function buildRestPlan(turn: RestTurn): RestPlan {
  const sc = turn.scenario;
  const delayMs = sc.delayMs ?? (sc.name === "slow" ? SLOW_DELAY_MS : 0);
  const plan = (fr: Frame[], extra: Partial<RestPlan> = {}): RestPlan => ({
    frames: fr,
    framing: sc.framing ?? "ndjson",
    delayMs,
    answer: "",
    completes: false,
    ...extra,
  });
  const p = () => textParts(turn);
  switch (sc.name) {
    case "in-stream-rate-limit":
      return plan([errorFrame(turn, 0)]);
    case "403-json-code7-in-stream":
      return plan([errorFrame(turn, 1)]);
    case "usage-limit": {
      const t = p();
      return plan([t.conv, t.user, errorFrame(turn, 2)]);
    }
    case "stream-errors":
    case "status-not-completed": {
      const t = p();
      return plan([t.conv, t.user, t.meta, errorFrame(turn, 3)]);
    }
    case "empty-success": {
      const t = p();
      return plan([t.conv, t.user, t.meta, t.soft, withMessage(t.model, "")], { completes: true });
    }
    case "moderated": {
      if (turn.kind === "video") return plan(videoFrames(turn, true), { completes: true });
      const fr = sc.variant === "2025" ? image2025Frames(turn, true) : imageCardFrames(turn, true);
      return plan(fr, { completes: true, framing: sc.framing ?? (sc.variant === "2025" ? "ndjson" : "sse") });
    }
    default:
      break;
  }
  const s = successFrames(turn);
  if (sc.variant === "flat") s.frames = s.frames.map(flatten);
  const base = plan(s.frames, { framing: sc.framing ?? s.framing ?? "ndjson", answer: s.answer, completes: true });
  switch (sc.name) {
    case "stalled":
      return { ...base, stallAfter: sc.stallAfterFrames ?? 2, completes: false };
    case "stalled-after-first":
      return { ...base, stallAfter: firstToken(s.frames) + 1, completes: false };
    case "dropped":
      return { ...base, dropAfter: firstToken(s.frames) + 1, completes: false };
    case "session-ended":
      return { ...base, frames: s.frames.slice(0, firstToken(s.frames) + 1), completes: false };
    case "split-utf8":
      return { ...base, split: true };
    default:
      return base;
  }
}
