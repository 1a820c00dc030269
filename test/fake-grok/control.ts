/** HTTP control surface under /__control/ so a fake in another process can be driven (not recorded). */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { FakeGrok, FakeGrokOptions, Scenario, ScenarioName } from "./types.js";
import { isPlainObject, readBody } from "./util.js";

/** JSON with Buffers as {type:"Buffer", base64}. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (isPlainObject(v) && v.type === "Buffer" && Array.isArray(v.data)) return { type: "Buffer", base64: Buffer.from(v.data as number[]).toString("base64") };
    return v;
  });
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  const buf = Buffer.from(toJson(body), "utf8");
  res.writeHead(status, { "content-type": "application/json", "content-length": String(buf.length) });
  res.end(buf);
}

type Scenarios = Array<Scenario | ScenarioName>;

function scenariosOf(b: Record<string, unknown>): Scenarios {
  if (Array.isArray(b.scenarios)) return b.scenarios as Scenarios;
  if (b.scenario !== undefined) return [b.scenario as Scenario | ScenarioName];
  throw new Error("scenarios (array) or scenario is required");
}

export async function handleControl(fake: FakeGrok, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const raw = await readBody(req);
  let b: Record<string, unknown> = {};
  if (raw.length) {
    try {
      const parsed: unknown = JSON.parse(raw.toString("utf8"));
      if (isPlainObject(parsed)) b = parsed;
    } catch {
      return reply(res, 400, { error: "body must be JSON" });
    }
  }
  const route = `${req.method} ${url.pathname.replace(/\/+$/, "")}`;
  try {
    switch (route) {
      case "GET /__control/health":
        return reply(res, 200, { ok: true, url: fake.url, assetsUrl: fake.assetsUrl, signerUrl: fake.signerUrl });
      case "POST /__control/accounts": {
        const count = typeof b.count === "number" ? b.count : undefined;
        if (count !== undefined) return reply(res, 200, Array.from({ length: count }, () => fake.addAccount({ tier: b.tier as never })));
        return reply(res, 200, fake.addAccount(b as never));
      }
      case "GET /__control/accounts": {
        const sso = url.searchParams.get("sso");
        if (sso) {
          const acc = fake.account(sso);
          return acc ? reply(res, 200, acc) : reply(res, 404, { error: "unknown account" });
        }
        return reply(res, 200, (fake as FakeGrok & { accounts(): unknown[] }).accounts());
      }
      case "POST /__control/quota":
        fake.setQuota(String(b.sso), String(b.mode), b as never);
        return reply(res, 200, fake.account(String(b.sso)));
      case "POST /__control/session":
        fake.setSession(String(b.sso), b.session as never);
        return reply(res, 200, { ok: true });
      case "POST /__control/queue":
        fake.queue(typeof b.sso === "string" ? b.sso : "*", ...scenariosOf(b));
        return reply(res, 200, { ok: true });
      case "POST /__control/default":
        fake.setDefault(scenariosOf(b)[0]!);
        return reply(res, 200, { ok: true });
      case "POST /__control/options":
        Object.assign(fake.options, b as FakeGrokOptions);
        return reply(res, 200, fake.options);
      case "GET /__control/requests": {
        const since = Number(url.searchParams.get("since") ?? "0");
        const list = url.searchParams.get("chat") === "1" ? fake.chatRequests() : fake.requests;
        return reply(res, 200, list.filter((r) => r.id > since));
      }
      case "GET /__control/state":
        return reply(res, 200, { openConnections: fake.openConnections(), requests: fake.requests.length });
      case "POST /__control/reset":
        fake.reset();
        return reply(res, 200, { ok: true });
      default:
        return reply(res, 404, { error: `unknown control route ${route}` });
    }
  } catch (e) {
    return reply(res, 400, { error: (e as Error).message });
  }
}
