/** POST /rest/app-chat/conversations/new and /conversations/{id}/responses (§4). */
import type { HttpCtx } from "./core.js";
import type { ChatRequest } from "./chat-body.js";
import type { HttpFailure } from "./errors.js";
import type { Frame } from "./fixtures.js";
import type { AccountRecord, ConversationRecord } from "./state.js";
import type { Scenario } from "./types.js";
import { parseChatBody } from "./chat-body.js";
import { rejectHttp } from "./core.js";
import { failures, sendFailure } from "./errors.js";
import { registerGeneratedAssets } from "./media-bytes.js";
import { chargeChat, hasChatQuota } from "./quota.js";
import { buildRestPlan } from "./rest-scripts.js";
import { streamRest } from "./rest-stream.js";
import { implicitScenario, magicScenario, SUCCESS_SCENARIOS } from "./scenarios.js";
import { uuid } from "./util.js";

/** HTTP status answers of the failure scenarios (§12.2, REST column). */
export function scenarioFailure(sc: Scenario): HttpFailure | undefined {
  switch (sc.name) {
    case "http-429":
      return failures.tooManyRequests(sc.retryAfterSeconds);
    case "http-401":
      return failures.unauthenticated();
    case "403-html":
      return failures.cloudflare();
    case "403-empty":
      return failures.emptyForbidden();
    case "403-json-code7":
      return failures.antiBot();
    case "403-blocked":
      return failures.blocked();
    case "http-500":
      return failures.internal();
    default:
      return undefined;
  }
}

function pickScenario(ctx: HttpCtx, acc: AccountRecord, prompt: string): Scenario {
  const state = ctx.core.state;
  const magic = magicScenario(prompt) ?? state.scenarios.respond(prompt);
  if (magic) return magic;
  const queued = state.scenarios.take(acc.sso);
  return implicitScenario(queued ?? state.scenarios.default, !!queued, prompt);
}

/** Charges the turn; false when the quota is exhausted (then the turn fails like a real usage limit). */
function charge(ctx: HttpCtx, acc: AccountRecord, req: ChatRequest, sc: Scenario): boolean {
  if (!SUCCESS_SCENARIOS.has(sc.name)) return true;
  const state = ctx.core.state;
  if (!hasChatQuota(state, acc, req.quotaKey, req.cost)) return false;
  if (req.kind === "chat") chargeChat(state, acc, req.quotaKey, req.cost);
  else state.consume(acc, req.quotaKey, 1);
  return true;
}

function rememberVideos(ctx: HttpCtx, acc: AccountRecord, frames: Frame[]): void {
  for (const f of frames) {
    const v = f.result?.response?.streamingVideoGenerationResponse;
    if (v?.videoUrl) ctx.core.state.videos.set(v.videoId, { owner: acc.sso, userId: acc.userId, path: v.videoUrl });
  }
}

export async function handleConversation(ctx: HttpCtx, continuation: boolean): Promise<void> {
  const state = ctx.core.state;
  const acc = ctx.account!;
  const parsed = parseChatBody(state, acc, ctx.body);
  if ("failure" in parsed) return rejectHttp(ctx, parsed.failure, parsed.reason);
  let conv: ConversationRecord | undefined;
  if (continuation) {
    conv = state.conversations.get(ctx.params[0]!);
    if (!conv || conv.owner !== acc.sso) return rejectHttp(ctx, failures.notFound("Conversation not found"), `unknown conversation ${ctx.params[0]}`);
    if (parsed.parentResponseId && !conv.responseIds.includes(parsed.parentResponseId)) {
      return rejectHttp(ctx, failures.invalid("parent response not found"), `parent response ${parsed.parentResponseId} is not in conversation ${conv.id}`);
    }
  }
  let sc = pickScenario(ctx, acc, parsed.prompt);
  ctx.rec.scenario = sc.name;
  ctx.rec.scenarios = [sc.name];
  const fail = scenarioFailure(sc) ?? (sc.name === "conversation-not-found" ? failures.notFound("Conversation not found") : undefined)
    ?? (sc.name === "moderated" && parsed.kind === "edit" ? failures.moderated() : undefined);
  if (fail) return sendFailure(ctx.res, fail);
  // §14.7: free accounts got 429 for a videoLength/duration above 6 (6 → 200; 7, 8, 15 → 429).
  if (parsed.kind === "video" && acc.tier === "basic" && (parsed.seconds ?? 0) > 6) return rejectHttp(ctx, failures.tooManyRequests(), `basic account asked for a ${parsed.seconds} s video`);
  if (!charge(ctx, acc, parsed, sc)) {
    if (parsed.kind !== "chat") return sendFailure(ctx.res, failures.tooManyRequests());
    sc = { name: "usage-limit" };
  }
  if (!conv) {
    conv = { id: uuid(), owner: acc.sso, responseIds: [] };
    state.conversations.set(conv.id, conv);
  }
  const userResponseId = uuid();
  const assistantResponseId = uuid();
  const plan = buildRestPlan({
    scenario: sc,
    kind: parsed.kind,
    prompt: parsed.prompt,
    userId: acc.userId,
    conversationId: conv.id,
    userResponseId,
    assistantResponseId,
    parentResponseId: parsed.parentResponseId,
    modelLabel: parsed.modelLabel,
    fileAttachments: parsed.kind === "edit" ? parsed.inputAssets : parsed.fileAttachments,
    resolutionName: parsed.resolutionName,
  });
  registerGeneratedAssets(state, acc.userId, plan.frames);
  rememberVideos(ctx, acc, plan.frames);
  conv.responseIds.push(userResponseId, assistantResponseId);
  state.responses.set(userResponseId, { id: userResponseId, conversationId: conv.id, owner: acc.sso, role: "user", text: parsed.prompt });
  if (plan.completes) {
    conv.lastResponseId = assistantResponseId;
    state.responses.set(assistantResponseId, { id: assistantResponseId, conversationId: conv.id, owner: acc.sso, role: "assistant", text: plan.answer });
  }
  await streamRest({ core: ctx.core, res: ctx.res, rec: ctx.rec, plan, headers: { "x-request-id": ctx.headers["x-xai-request-id"] ?? uuid() } });
}
