import Router from "@koa/router";
import type { Context } from "koa";
import { ProxyError, badRequest } from "../errors.js";
import { responsesTurnAdapter } from "../protocols/responses/adapter.js";
import { previousResponseId } from "../protocols/responses/parse-request.js";
import { ResponsesState, conversationItems } from "../protocols/responses/state.js";
import { type RunnerDeps, serveTurn } from "../runner/turn-runner.js";
import type { Store } from "../store/types.js";
import { readJson } from "./middleware.js";

/**
 * The Responses API routes (api-conformance.md §3.5), each with and without /v1:
 * POST /responses (stream and non-stream, served by the turn runner), GET /responses/{id},
 * DELETE /responses/{id}, GET /responses/{id}/input_items. Errors in OpenAI's shape.
 */
export function responsesRouter(deps: RunnerDeps, store: Store): Router {
  const router = new Router();
  const log = deps.log.child("responses");
  const state = new ResponsesState(store, () => deps.settings().responses_ttl_hours, log);

  const notFound = (id: string) => new ProxyError(404, "not_found", `Response with id '${id}' not found.`, { param: "response_id" });
  const loadOr404 = async (id: string) => {
    const r = await state.load(id);
    if (!r) throw notFound(id);
    return r;
  };

  const create = async (ctx: Context) => {
    const body = await readJson(ctx);
    const previous = previousResponseId(body);
    let history: Record<string, unknown>[] = [];
    if (previous) {
      const r = await state.load(previous);
      if (!r) throw new ProxyError(404, "not_found", `Previous response with id '${previous}' not found.`, { param: "previous_response_id" });
      history = conversationItems(r);
    }
    await serveTurn(ctx, responsesTurnAdapter({ state, history, log }), body, deps);
  };

  const get = async (ctx: Context) => {
    ctx.body = (await loadOr404(ctx.params.id!)).response;
  };

  const remove = async (ctx: Context) => {
    const id = ctx.params.id!;
    if (!(await state.delete(id))) throw notFound(id);
    ctx.body = { id, object: "response", deleted: true };
  };

  /** `order` (desc by default, as OpenAI's), `limit` 1–100 (20), `after`/`before` an item id. */
  const inputItems = async (ctx: Context) => {
    const r = await loadOr404(ctx.params.id!);
    const q = ctx.query;
    const order = q.order === undefined ? "desc" : q.order;
    if (order !== "asc" && order !== "desc") throw badRequest('order must be "asc" or "desc"', "order");
    const limit = q.limit === undefined ? 20 : Number(q.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw badRequest("limit must be an integer from 1 to 100", "limit");
    let items = order === "asc" ? [...r.input] : [...r.input].reverse();
    for (const [name, dir] of [["after", 1], ["before", -1]] as const) {
      const cursor = q[name];
      if (cursor === undefined) continue;
      const at = items.findIndex((it) => it.id === cursor);
      if (typeof cursor !== "string" || at < 0) throw badRequest(`${name} must be the id of an input item of this response`, name);
      items = dir === 1 ? items.slice(at + 1) : items.slice(0, at);
    }
    const page = items.slice(0, limit);
    ctx.body = { object: "list", data: page, first_id: page[0]?.id ?? null, last_id: page[page.length - 1]?.id ?? null, has_more: items.length > page.length };
  };

  for (const prefix of ["/v1", ""]) {
    router.post(`${prefix}/responses`, create);
    router.get(`${prefix}/responses/:id`, get);
    router.delete(`${prefix}/responses/:id`, remove);
    router.get(`${prefix}/responses/:id/input_items`, inputItems);
  }
  return router;
}
