/**
 * Server events of one gateway turn, replayed from the recorded transcripts
 * (fixtures/gw-*.jsonl) in chunk mode (use_chunk:true) or the non-chunk Realtime-style family.
 */
import type { Frame } from "./fixtures.js";
import type { Scenario } from "./types.js";
import { ANTI_BOT_MESSAGE, BLOCKED_MESSAGE, USAGE_LIMIT_MESSAGE } from "./errors.js";
import { clone, FIXTURE_USER_ID, instantiate, loadGateway, pick } from "./fixtures.js";
import { previewDataUri } from "./media-bytes.js";
import {
  citationSplit, citationTag, DEFAULT_REASONING, DEFAULT_TEXT, MARKUP_TEXT, SEARCH_SOURCES, SLOW_DELAY_MS, SPLIT_UTF8_TEXT,
  THINKING_HEADER, tokenize,
} from "./text.js";

export interface GwTurn {
  scenario: Scenario;
  sessionId: string;
  responseId: string;
  userId: string;
  chunkMode: boolean;
}

export interface GwPlan {
  events: Frame[];
  delayMs: number;
  /** Send this many events, then stay silent. */
  stallAt?: number;
  /** How the server ends the turn abruptly. */
  end?: "terminate" | "close1011";
  split?: boolean;
  completes: boolean;
  answer: string;
}

type Piece =
  | { t: "phase"; kind: "KIND_THINKING_START" | "KIND_RESPONSE_START" }
  | { t: "header" | "reasoning" | "answer"; text: string }
  | { t: "tool" }
  | { t: "toolResult"; noId: boolean }
  | { t: "searchResult" }
  | { t: "citation" | "tagCitation" | "citationCard"; i: 0 | 1 }
  | { t: "raw"; frame: Frame };

const CARD_IDS = ["b086be", "c41f07"] as const;
const ev = (f: Frame) => f.event as Frame;
const type = (f: Frame) => ev(f).type as string;

/** Instantiates a transcript's server frames: fixture session/response/user ids → live ones. */
function serverFrames(name: string, sessionId: string, responseId: string, userId: string): Frame[] {
  const fx = loadGateway(name);
  const ids = new Map<string, string>([[FIXTURE_USER_ID, userId]]);
  const s = fx.server[0]?.session_id as string | undefined;
  const r = fx.server.find((f) => type(f) === "response.done")?.event.response.id as string | undefined;
  if (s) ids.set(s, sessionId);
  if (r) ids.set(r, responseId);
  return instantiate(fx.server, ids);
}

/** session.created, conversation.attached (when the capability was offered) and, for the non-chunk family, conversation.commands.updated. */
export function sessionEvents(sessionId: string, clientEventId: string, model: string, attached: boolean, commandsUpdated: boolean): Frame[] {
  const text = serverFrames("gw-text.jsonl", sessionId, "", "");
  const created = pick(text, (f) => type(f) === "session.created", "session.created");
  created.event.client_event_id = clientEventId;
  created.event.session = { model };
  const out = [created];
  if (attached) out.push(pick(text, (f) => type(f) === "conversation.attached", "conversation.attached"));
  if (commandsUpdated) out.push(pick(serverFrames("gw-non-chunk.jsonl", sessionId, "", ""), (f) => type(f) === "conversation.commands.updated", "commands.updated"));
  return out;
}

export function errorEvent(sessionId: string | undefined, code: string | number, message: string): Frame {
  const e = { type: "error", error: { code, message } };
  return sessionId ? { session_id: sessionId, event: e } : { event: e };
}

function streamError(sessionId: string, message: string, kind: string, code: number): Frame {
  return { session_id: sessionId, event: { type: "response.grok.output", output: { stream_error: { message, kind, code } } } };
}

// ---------- content pieces per scenario ----------

function answerPieces(text: string): Piece[] {
  return tokenize(text).map((t) => ({ t: "answer", text: t }));
}

function thinkingPieces(sc: Scenario, text: string): Piece[] {
  const reasoning = sc.reasoning ?? DEFAULT_REASONING;
  const head: Piece[] = [{ t: "phase", kind: "KIND_THINKING_START" }, { t: "header", text: THINKING_HEADER }];
  head.push(...tokenize(reasoning).map((r): Piece => ({ t: "reasoning", text: r })));
  if (sc.name === "thinking") return [...head, { t: "phase", kind: "KIND_RESPONSE_START" }, ...answerPieces(text)];
  const [p1, p2, tail] = citationSplit(tokenize(text));
  const cite = (i: 0 | 1): Piece[] =>
    sc.name === "search-tags" ? [{ t: "tagCitation", i }, { t: "citationCard", i }] : [{ t: "citation", i }];
  return [
    ...head,
    { t: "tool" },
    { t: "toolResult", noId: sc.name === "search-no-tool-call-id" },
    { t: "searchResult" },
    { t: "phase", kind: "KIND_RESPONSE_START" },
    ...p1.map((x): Piece => ({ t: "answer", text: x })),
    ...cite(0),
    ...p2.map((x): Piece => ({ t: "answer", text: x })),
    ...cite(1),
    ...(tail ? [{ t: "answer", text: tail } as Piece] : []),
  ];
}

function imagePieces(turn: GwTurn, moderated: boolean): Piece[] {
  const frames = serverFrames("gw-image-lite.jsonl", turn.sessionId, turn.responseId, turn.userId);
  const out: Piece[] = [];
  for (const f of frames) {
    if (type(f) === "response.grok.output") {
      const jd = f.event.output.card_attachment.jsonData;
      const chunk = typeof jd === "object" ? jd.image_chunk : null;
      if (chunk && typeof chunk.imageUrl === "string" && chunk.imageUrl.startsWith("data:")) chunk.imageUrl = previewDataUri();
      if (chunk && moderated && chunk.progress === 100) chunk.moderated = true;
      out.push({ t: "raw", frame: f });
    } else if (type(f) === "response.chunk") {
      if (turn.scenario.text !== undefined) out.push(...answerPieces(turn.scenario.text));
      else out.push({ t: "raw", frame: f }); // the recorded caption, as one chunk
    }
  }
  return out;
}

const IMAGE_SCENARIOS = new Set(["image-gen", "image-gen-2025", "image-edit", "imagine"]);

function contentPieces(turn: GwTurn): Piece[] {
  const sc = turn.scenario;
  if (IMAGE_SCENARIOS.has(sc.name)) return imagePieces(turn, false);
  if (sc.name === "moderated") return imagePieces(turn, true);
  const text = sc.text ?? (sc.name === "markup" ? MARKUP_TEXT : sc.name === "split-utf8" ? SPLIT_UTF8_TEXT : DEFAULT_TEXT);
  if (sc.name === "thinking" || sc.name.startsWith("search")) return thinkingPieces(sc, text);
  return answerPieces(text);
}

function answerOf(pieces: Piece[]): string {
  let s = "";
  for (const p of pieces) {
    if (p.t === "answer") s += p.text;
    else if (p.t === "tagCitation" || p.t === "citation") s += citationTag(CARD_IDS[p.i], p.i);
    else if (p.t === "raw" && typeof p.frame.event?.chunk?.text?.text === "string") s += p.frame.event.chunk.text.text;
  }
  return s;
}

// ---------- renderers ----------

interface Rendered {
  head: Frame[];
  body: Frame[];
  tail: (status: string) => Frame[];
}

function tagHalves(i: 0 | 1): [string, string] {
  const tag = citationTag(CARD_IDS[i], i);
  return [tag.slice(0, 40), tag.slice(40)];
}

function renderChunk(turn: GwTurn, pieces: Piece[]): Rendered {
  const text = serverFrames("gw-text.jsonl", turn.sessionId, turn.responseId, turn.userId);
  const ts = serverFrames("gw-thinking-search.jsonl", turn.sessionId, turn.responseId, turn.userId);
  const nc = serverFrames("gw-non-chunk.jsonl", turn.sessionId, turn.responseId, turn.userId);
  const chunkOf = (f: Frame) => (type(f) === "response.chunk" ? (ev(f).chunk as Frame) : {});
  const answerTpl = pick(text, (f) => chunkOf(f).text?.channel === "CHANNEL_ASSISTANT_RESPONSE", "answer chunk");
  const withText = (tpl: Frame, s: string) => {
    const f = clone(tpl);
    f.event.chunk.text.text = s;
    return f;
  };
  const body: Frame[] = [];
  for (const p of pieces) {
    switch (p.t) {
      case "phase": {
        const f = pick(ts, (x) => chunkOf(x).phase_marker !== undefined, "phase marker");
        f.event.chunk.phase_marker.kind = p.kind;
        body.push(f);
        break;
      }
      case "header":
        body.push(withText(pick(ts, (x) => chunkOf(x).text?.channel === "CHANNEL_ASSISTANT_NOTETAKER_HEADER", "header"), p.text));
        break;
      case "reasoning":
        body.push(withText(pick(ts, (x) => chunkOf(x).text?.channel === "CHANNEL_ANALYSIS", "analysis"), p.text));
        break;
      case "answer":
        body.push(withText(answerTpl, p.text));
        break;
      case "tool":
        body.push(pick(ts, (x) => chunkOf(x).tool_usage_card !== undefined, "tool card"));
        break;
      case "toolResult": {
        const f = pick(ts, (x) => chunkOf(x).tool_result !== undefined, "tool result");
        if (p.noId) delete f.event.chunk.tool_result.tool_call_id;
        body.push(f);
        break;
      }
      case "searchResult":
        body.push(pick(ts, (x) => type(x) === "response.search.result", "search result"));
        break;
      case "citation":
        body.push(ts.filter((x) => chunkOf(x).render_citation !== undefined).map(clone)[p.i]!);
        break;
      case "tagCitation":
        body.push(...tagHalves(p.i).map((h) => withText(answerTpl, h)));
        break;
      case "citationCard": {
        const f = pick(nc, (x) => type(x) === "response.grok.output" && x.event.output.card_attachment, "citation card");
        f.event.output.card_attachment.jsonData = { id: CARD_IDS[p.i], url: SEARCH_SOURCES[p.i].url };
        body.push(f);
        break;
      }
      case "raw":
        body.push(p.frame);
        break;
    }
  }
  const created = pick(text, (f) => type(f) === "response.created", "response.created");
  const done = pick(text, (f) => type(f) === "response.done", "response.done");
  return {
    head: [created],
    body,
    tail: (status) => {
      const d = clone(done);
      d.event.response.status = status;
      return [d];
    },
  };
}

function renderNonChunk(turn: GwTurn, pieces: Piece[], answer: string): Rendered {
  const nc = serverFrames("gw-non-chunk.jsonl", turn.sessionId, turn.responseId, turn.userId);
  const get = (t: string) => pick(nc, (f) => type(f) === t, t);
  const deltaTpl = get("response.output_text.delta");
  const delta = (s: string, thinking: boolean) => {
    const f = clone(deltaTpl);
    f.event.delta = s;
    f.event.x_grok = { is_thinking: thinking };
    return f;
  };
  const grok = (key: string) => pick(nc, (f) => type(f) === "response.grok.output" && f.event.output[key] !== undefined, key);
  const card = (i: 0 | 1) => {
    const f = grok("card_attachment");
    f.event.output.card_attachment.jsonData = { id: CARD_IDS[i], url: SEARCH_SOURCES[i].url };
    return f;
  };
  const body: Frame[] = [];
  for (const p of pieces) {
    if (p.t === "reasoning") body.push(delta(p.text, true));
    else if (p.t === "answer") body.push(delta(p.text, false));
    else if (p.t === "tool") body.push(grok("tool_usage_card"));
    else if (p.t === "toolResult") {
      const f = grok("tool_result");
      f.event.output.tool_result.web_search_results = SEARCH_SOURCES.map(({ url, title }) => ({ url, title }));
      body.push(f);
    } else if (p.t === "searchResult") {
      const f = get("response.search.result");
      f.event.result.web_results = SEARCH_SOURCES.map(({ url, title }) => ({ url, title }));
      body.push(f);
    } else if (p.t === "citation" || p.t === "tagCitation") {
      body.push(...tagHalves(p.i).map((h) => delta(h, false)));
      if (p.t === "citation") body.push(card(p.i));
    } else if (p.t === "citationCard") body.push(card(p.i));
    else if (p.t === "raw" && type(p.frame) === "response.chunk") body.push(delta(p.frame.event.chunk.text.text, false));
    else if (p.t === "raw") body.push(p.frame);
  }
  const withText = (f: Frame) => {
    const e = f.event;
    if (typeof e.text === "string") e.text = answer;
    if (e.part) e.part.text = answer;
    if (e.item?.content?.[0]) e.item.content[0].text = answer;
    return f;
  };
  return {
    head: [get("response.created"), get("response.output_item.added"), get("response.content_part.added")],
    body,
    tail: (status) => {
      const done = get("response.done");
      done.event.response.status = status;
      if (status !== "completed") return [done];
      return [withText(get("response.output_text.done")), withText(get("response.content_part.done")), withText(get("response.output_item.done")), get("response.completed"), done];
    },
  };
}

// ---------- plans ----------

export function buildGatewayPlan(turn: GwTurn): GwPlan {
  const sc = turn.scenario;
  const sid = turn.sessionId;
  const delayMs = sc.delayMs ?? (sc.name === "slow" ? SLOW_DELAY_MS : 0);
  const plan = (events: Frame[], extra: Partial<GwPlan> = {}): GwPlan => ({ events, delayMs, completes: false, answer: "", ...extra });
  const pieces = contentPieces(turn);
  const answer = answerOf(pieces);
  const r = turn.chunkMode ? renderChunk(turn, pieces) : renderNonChunk(turn, pieces, answer);
  const created = r.head[0]!;
  switch (sc.name) {
    case "403-json-code7":
      return plan([errorEvent(sid, 7, ANTI_BOT_MESSAGE)]);
    case "403-json-code7-in-stream":
      return plan([created, errorEvent(sid, "anti_bot", ANTI_BOT_MESSAGE)]);
    case "usage-limit":
      return plan([errorEvent(sid, "rate_limited", USAGE_LIMIT_MESSAGE)]);
    case "in-stream-rate-limit":
      return plan([created, streamError(sid, USAGE_LIMIT_MESSAGE, "rate_limit", 8), ...r.tail("failed")]);
    case "stream-errors":
      return plan([created, streamError(sid, "Model overloaded", "internal", 14), ...r.tail("failed")]);
    case "http-429":
      return plan([errorEvent(sid, 8, "Too many requests")]);
    case "http-401":
      return plan([errorEvent(sid, 16, "Bad credentials")]);
    case "403-blocked":
      return plan([errorEvent(sid, 7, BLOCKED_MESSAGE)]);
    case "http-500":
    case "403-html":
    case "403-empty":
      return plan([errorEvent(sid, 13, "Internal error")]);
    case "empty-success":
      return plan([created, ...r.tail("completed").slice(-1)], { completes: true });
    case "status-not-completed":
      return plan([...r.head, ...r.body, ...r.tail("failed")], { answer });
    default:
      break;
  }
  const full = [...r.head, ...r.body, ...r.tail("completed")];
  const first = r.head.length + 1; // events up to and including the first content event
  switch (sc.name) {
    case "stalled-after-first":
      return plan(full, { stallAt: first });
    case "dropped":
      return plan(full.slice(0, first), { end: sc.variant === "1011" ? "close1011" : "terminate" });
    case "session-ended":
      return plan([...full.slice(0, first), { session_id: sid, event: { type: "session.ended" } }]);
    case "split-utf8":
      return plan(full, { split: true, completes: true, answer });
    default:
      return plan(full, { completes: true, answer });
  }
}
