import type { Logger } from "../../log.js";
import type { ProtocolAdapter, RenderContext } from "../adapter.js";
import { renderOpenAIError } from "../openai/render.js";
import { parseResponsesRequest, responsesOptions } from "./parse-request.js";
import { ResponsesStream, renderResponse } from "./render.js";
import type { ResponsesState } from "./state.js";

type Obj = Record<string, unknown>;

/**
 * The Responses API (api-conformance.md §3.5): named SSE events with sequence numbers, OpenAI's
 * error shape. This stateless instance serves error rendering by path (registry.ts); requests
 * are served by `responsesTurnAdapter`, which adds the state of one request: the history of a
 * previous_response_id (loaded by the route before the runner starts) and storing the result.
 */
export const responsesAdapter: ProtocolAdapter = {
  id: "responses",
  parse: (body) => parseResponsesRequest(body),
  stream: (ctx) => new ResponsesStream(ctx),
  final: renderResponse,
  renderError: (err) => ({ status: err.status, body: renderOpenAIError(err) }),
};

export interface TurnAdapterOptions {
  /** Where `store` keeps responses; null keeps nothing. */
  state: ResponsesState | null;
  /** Items of the previous_response_id chain. */
  history: Obj[];
  log: Logger;
}

/**
 * The adapter for one POST /v1/responses: parse with the loaded history, store what was answered.
 * A streamed response is handed to the store as its terminal event is rendered — before that
 * event is written — so a client that continues from it at once finds it; afterStream waits for
 * the write to finish.
 */
export function responsesTurnAdapter(opts: TurnAdapterOptions): ProtocolAdapter {
  let saving: Promise<unknown> = Promise.resolve();
  const persist = async (response: Obj, ctx: RenderContext) => {
    const o = responsesOptions(ctx.turn);
    if (!o.store || !opts.state) return;
    await opts.state.save({ response, input: o.input, history: o.history });
  };
  return {
    ...responsesAdapter,
    parse(body) {
      const turn = parseResponsesRequest(body, { history: opts.history });
      const notes = responsesOptions(turn).notes;
      if (notes.length) opts.log.debug("responses request: parts not used", { notes });
      return turn;
    },
    stream(ctx) {
      const renderer = new ResponsesStream(ctx);
      const finish = renderer.finish.bind(renderer);
      renderer.finish = (summary) => {
        const frames = finish(summary);
        if (renderer.final) saving = persist(renderer.final, ctx);
        return frames;
      };
      return renderer;
    },
    async final(summary, ctx) {
      const response = renderResponse(summary, ctx);
      await persist(response, ctx);
      return response;
    },
    async afterStream() {
      await saving;
    },
  };
}
