import Router from "@koa/router";
import type { Context } from "koa";
import type { ModelEntry } from "../grok/models.js";
import { openaiAdapter } from "../protocols/openai/adapter.js";
import { type RunnerDeps, serveTurn } from "../runner/turn-runner.js";
import { resolveModel } from "../runner/model-map.js";
import { readJson } from "./middleware.js";

/** One model object carrying both the OpenAI and the Anthropic keys (api-conformance.md §3.1). */
export function modelObject(m: ModelEntry): Record<string, unknown> {
  return {
    id: m.id,
    object: "model",
    created: m.created,
    owned_by: "xai",
    type: "model",
    display_name: m.displayName,
    created_at: new Date(m.created * 1000).toISOString().replace(/\.\d+Z$/, "Z"),
  };
}

/** OpenAI routes: models and chat completions, each with and without the /v1 prefix. */
export function openaiRouter(deps: RunnerDeps): Router {
  const router = new Router();
  const listModels = (ctx: Context) => {
    const data = deps.catalog().list().map(modelObject);
    ctx.body = { object: "list", data, has_more: false, first_id: data[0]?.id ?? null, last_id: data[data.length - 1]?.id ?? null };
  };
  const getModel = (ctx: Context) => {
    const id = ctx.params.id!;
    const m = resolveModel(deps.catalog(), id, deps.settings().model_map, deps.tiers()); // mapped names (claude-…) answer as themselves
    ctx.body = { ...modelObject(m), id };
  };
  const chat = async (ctx: Context) => serveTurn(ctx, openaiAdapter, await readJson(ctx), deps);
  for (const prefix of ["/v1", ""]) {
    router.get(`${prefix}/models`, listModels);
    router.get(`${prefix}/models/:id`, getModel);
    router.post(`${prefix}/chat/completions`, chat);
  }
  return router;
}
