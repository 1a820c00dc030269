import type { GrokSettings } from "../config/settings-schema.js";
import type { Logger } from "../log.js";
import { classifyTransportError } from "./classify.js";
import type { GatewaySocketFactory } from "./gateway-socket.js";
import type { Identity } from "./identity.js";
import type { StatsigProvider } from "./statsig.js";
import type { HttpTransport, RequestOptions, UpstreamResponse } from "./transport.js";
import { UpstreamError } from "./upstream-error.js";

/** The account fields the upstream client needs. */
export interface GrokAccountRef {
  token: string;
  userId: string | null;
}

/**
 * What every endpoint module shares for one GrokClient: the upstream origin, the live settings,
 * the browser identity, the HTTP transport and statsig provider, the egress proxy and the log.
 * `identity()` and `proxyUrl()` read the settings on each call, so changes apply to the next request.
 */
export interface GrokContext {
  readonly origin: string;
  readonly transport: HttpTransport;
  readonly statsig: StatsigProvider;
  readonly log: Logger;
  settings(): GrokSettings;
  identity(): Identity;
  proxyUrl(): string | undefined;
  /** Called when a user id was resolved, so the caller can persist it. */
  readonly onUserId?: (token: string, userId: string) => void;
  /** Opens the gateway WebSocket; default `ws` (the desktop app supplies Chromium's). */
  readonly gatewaySocket?: GatewaySocketFactory;
}

/** A request to `origin + path` through the transport; transport failures become UpstreamErrors. */
export async function send(ctx: GrokContext, path: string, opts: Omit<RequestOptions, "proxyUrl">): Promise<UpstreamResponse> {
  try {
    return await ctx.transport.request(`${ctx.origin}${path}`, { ...opts, proxyUrl: ctx.proxyUrl() });
  } catch (err) {
    throw new UpstreamError(classifyTransportError(err));
  }
}

let tagsOf: { text: string; tags: readonly string[] } | null = null;

/** The `filtered_tags` setting as a list (split once per setting value: every chat asks for it). */
export function filteredTags(ctx: GrokContext): string[] {
  const text = ctx.settings().filtered_tags;
  if (tagsOf?.text !== text)
    tagsOf = {
      text,
      tags: Object.freeze(
        text
          .split(",")
          .map((t) => t.trim())
          .filter(Boolean),
      ),
    };
  return tagsOf.tags as string[];
}
