import Router from "@koa/router";
import type { Context } from "koa";
import { parseAnthropicRequest } from "../protocols/anthropic/parse-request.js";
import { anthropicAdapter } from "../protocols/anthropic/adapter.js";
import { estimateTokens } from "../protocols/estimate-tokens.js";
import { resolveModel } from "../runner/model-map.js";
import { type RunnerDeps, serveTurn, turnPrompt } from "../runner/turn-runner.js";
import { readJson } from "./middleware.js";

/** Anthropic routes: /v1/messages and /v1/messages/count_tokens, with and without /v1; the query string (?beta=true) is ignored. */
export function anthropicRouter(deps: RunnerDeps): Router {
  const router = new Router();
  const messages = async (ctx: Context) => serveTurn(ctx, anthropicAdapter, await readJson(ctx), deps);
  const countTokens = async (ctx: Context) => {
    const turn = parseAnthropicRequest(await readJson(ctx), { countOnly: true });
    resolveModel(deps.catalog(), turn.model, deps.settings().model_map, deps.tiers());
    ctx.set("request-id", String(ctx.state.requestId));
    ctx.body = { input_tokens: estimateTokens(turnPrompt(turn)) };
  };
  for (const prefix of ["/v1", ""]) {
    router.post(`${prefix}/messages`, messages);
    router.post(`${prefix}/messages/count_tokens`, countTokens);
  }
  return router;
}
