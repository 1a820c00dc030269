import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { FakeAccount, FakeGrok } from "./index.js";
import { META_CONTENT, startFakeGrok } from "./index.js";
import { chatBody, cookieFor, frames, newChat, postJson, restHeaders, statsig70, statsigE, statsigX1, UA } from "./test-helpers.js";

let fake: FakeGrok;
let acc: FakeAccount;

beforeAll(async () => {
  fake = await startFakeGrok();
  acc = fake.addAccount({ tier: "super" });
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());

const last = () => fake.requests[fake.requests.length - 1]!;

async function expectError(res: Response, status: number, body: unknown) {
  expect(res.status).toBe(status);
  expect(await res.json()).toEqual(body);
}

describe("accounts and /api/auth/session", () => {
  it("generates a JWT-shaped sso and a UUIDv4 user id", () => {
    const a = fake.addAccount();
    expect(a.sso.split(".")).toHaveLength(3);
    const payload = JSON.parse(Buffer.from(a.sso.split(".")[1]!, "base64url").toString());
    expect(payload.session_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(a.userId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a.tier).toBe("basic");
    expect(fake.account(a.sso)?.quota.fast).toEqual({ remaining: 30, total: 30, windowSeconds: 86400 });
  });

  it("answers authenticated with the user id, then every session switch", async () => {
    const a = fake.addAccount({ userId: "5c3f0a2e-1111-4a2b-9c3d-000000000001" });
    const get = () => fetch(`${fake.url}/api/auth/session`, { headers: { cookie: cookieFor(a), "user-agent": UA, referer: `${fake.url}/` } });
    let r = await get();
    expect(r.status).toBe(200);
    const body = await r.json();
    expect(body.status).toBe("authenticated");
    expect(body.session.userId).toBe("5c3f0a2e-1111-4a2b-9c3d-000000000001");
    expect(typeof body.session.email).toBe("string");
    fake.setSession(a.sso, "unauthenticated");
    expect(await (await get()).json()).toEqual({ status: "unauthenticated" });
    fake.setSession(a.sso, "blocked");
    r = await get();
    expect((await r.json()).status).toBe("blocked");
    fake.setSession(a.sso, "http401");
    await expectError(await get(), 401, { error: { code: 16, message: "Bad credentials", details: [] } });
  });

  it("treats a missing or unknown cookie as unauthenticated and records why", async () => {
    const r = await fetch(`${fake.url}/api/auth/session`, { headers: { cookie: "sso=nope; sso-rw=nope", "user-agent": UA } });
    expect(await r.json()).toEqual({ status: "unauthenticated" });
    expect(last().rejected).toEqual({ status: 200, reason: "unknown sso" });
  });
});

describe("statsig meta page and signer", () => {
  it("serves the meta with U+2015 in its name on /index and /", async () => {
    for (const path of ["/index", "/"]) {
      const r = await fetch(fake.url + path, { headers: { "user-agent": UA, accept: "text/html" } });
      expect(r.status).toBe(200);
      expect(r.headers.get("content-type")).toContain("text/html");
      expect(await r.text()).toContain('<meta name="grok-site\u2015verification" content="meta-1"/>');
    }
  });

  it("answers /index with 404 without meta when asked to, / still has it", async () => {
    fake.options.indexReturns404 = true;
    const r = await fetch(`${fake.url}/index`, { headers: { "user-agent": UA } });
    expect(r.status).toBe(404);
    expect(await r.text()).not.toContain("verification");
    expect((await fetch(`${fake.url}/`, { headers: { "user-agent": UA } })).status).toBe(200);
  });

  it("signs {method,path,environment.metaContent} into 70 bytes and validates the body", async () => {
    const sign = (body: unknown) => fetch(`${fake.signerUrl}/sign`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    const ok = await sign({ method: "POST", path: "/rest/app-chat/conversations/new", environment: { metaContent: META_CONTENT } });
    expect(ok.status).toBe(200);
    const value = (await ok.json())["x-statsig-id"];
    expect(Buffer.from(value, "base64")).toHaveLength(70);
    expect((await sign({ method: "POST", path: "rest/x", environment: { metaContent: "meta-1" } })).status).toBe(400);
    expect((await sign({ method: "POST", path: "/x", environment: { metaContent: "other" } })).status).toBe(400);
    expect((await sign({ method: "POST", path: "/x" })).status).toBe(400);
    expect(last().server).toBe("signer");
    expect(last().rejected?.status).toBe(400);
    // the signed value is accepted by the REST routes
    const r = await newChat(fake, acc, "hi", {}, { "x-statsig-id": value });
    expect(r.status).toBe(200);
    await r.text();
  });
});

describe("REST validations (§12.3)", () => {
  const antiBot = { error: { code: 7, message: "Request rejected by anti-bot rules.", details: [] } };

  it("requires sso == sso-rw of a known account (401 code 16)", async () => {
    await expectError(await newChat(fake, acc, "hi", {}, { cookie: undefined }), 401, { error: { code: 16, message: "No credentials presented", details: [] } });
    await expectError(await newChat(fake, acc, "hi", {}, { cookie: `sso=${acc.sso}` }), 401, { error: { code: 16, message: "Bad credentials", details: [] } });
    await expectError(await newChat(fake, acc, "hi", {}, { cookie: `sso=${acc.sso}; sso-rw=other` }), 401, { error: { code: 16, message: "Bad credentials", details: [] } });
    expect(last().rejected).toEqual({ status: 401, reason: "sso and sso-rw differ" });
    await expectError(await newChat(fake, acc, "hi", {}, { cookie: "sso=a.b.c; sso-rw=a.b.c" }), 401, { error: { code: 16, message: "Bad credentials", details: [] } });
  });

  it("accepts the [2025] cookie order without spaces", async () => {
    const r = await newChat(fake, acc, "hi", {}, { cookie: `sso-rw=${acc.sso};sso=${acc.sso}` });
    expect(r.status).toBe(200);
    await r.text();
  });

  it("answers blocked and logged-out accounts on chat routes", async () => {
    const a = fake.addAccount({ session: "blocked" });
    await expectError(await newChat(fake, a), 403, { code: 7, message: "User is blocked [WKE=unauthorized:blocked-user]", details: [] });
    fake.setSession(a.sso, "unauthenticated");
    expect((await newChat(fake, a)).status).toBe(401);
  });

  it("requires Origin to be the fake's own origin", async () => {
    await expectError(await newChat(fake, acc, "hi", {}, { origin: undefined }), 403, antiBot);
    await expectError(await newChat(fake, acc, "hi", {}, { origin: "https://grok.com" }), 403, antiBot);
    expect(last().rejected?.reason).toContain("Origin https://grok.com");
  });

  it("checks x-statsig-id: 70 bytes, x1: accepted, e: rejected since June 2026", async () => {
    await expectError(await newChat(fake, acc, "hi", {}, { "x-statsig-id": undefined }), 403, antiBot);
    await expectError(await newChat(fake, acc, "hi", {}, { "x-statsig-id": Buffer.alloc(69).toString("base64") }), 403, antiBot);
    await expectError(await newChat(fake, acc, "hi", {}, { "x-statsig-id": statsigE() }), 403, antiBot);
    expect(last().rejected?.reason).toContain("e: statsig");
    const x1 = await newChat(fake, acc, "hi", {}, { "x-statsig-id": statsigX1() });
    expect(x1.status).toBe(200);
    await x1.text();
    const raw = await newChat(fake, acc, "hi", {}, { "x-statsig-id": statsig70().replace(/=+$/, "") });
    expect(raw.status).toBe(200);
    await raw.text();
    fake.options.rejectE = false;
    fake.options.acceptX1 = false;
    const e = await newChat(fake, acc, "hi", {}, { "x-statsig-id": statsigE() });
    expect(e.status).toBe(200);
    await e.text();
    await expectError(await newChat(fake, acc, "hi", {}, { "x-statsig-id": statsigX1() }), 403, antiBot);
  });

  it("does not require statsig on the session, upload v2 and credits routes", async () => {
    const r = await fetch(`${fake.url}/api/auth/session`, { headers: { cookie: cookieFor(acc), "user-agent": UA } });
    expect(r.status).toBe(200);
  });

  it("requires a lower-case UUIDv4 x-xai-request-id on REST JSON calls (400), unique when asked", async () => {
    const bad = await newChat(fake, acc, "hi", {}, { "x-xai-request-id": "ABCDEF00-0000-4000-8000-000000000000" });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.code).toBe(3);
    expect((await newChat(fake, acc, "hi", {}, { "x-xai-request-id": undefined })).status).toBe(400);
    fake.options.uniqueRequestIds = true;
    const id = "0d7c2f4e-7a51-4c1e-9d0e-6f1f2a3b4c5d";
    const first = await newChat(fake, acc, "hi", {}, { "x-xai-request-id": id });
    expect(first.status).toBe(200);
    await first.text();
    expect((await newChat(fake, acc, "hi", {}, { "x-xai-request-id": id })).status).toBe(400);
  });

  it("validates the chat body", async () => {
    const cases: Array<[Record<string, unknown>, number]> = [
      [{ ...chatBody("hi"), modelName: "grok-3" }, 400], // both modeId and modelName
      [{ ...chatBody("hi"), modeId: "turbo" }, 400],
      [{ ...chatBody("hi"), modeId: undefined }, 400],
      [{ ...chatBody("hi"), modeId: undefined, modelName: "grok-3", modelMode: "fast" }, 400],
      [{ ...chatBody("hi"), temporary: "true" }, 400],
      [{ ...chatBody("hi"), fileAttachments: ["3f1c0d7e-0000-4000-8000-0000000000f1"] }, 400],
      [{ ...chatBody(""), fileAttachments: [] }, 400],
      [{ ...chatBody("hi"), message: 5 }, 400],
      [{ ...chatBody("hi"), modeId: undefined, modelName: "grok-9000" }, 403],
    ];
    for (const [body, status] of cases) {
      const r = await postJson(fake, acc, "/rest/app-chat/conversations/new", JSON.stringify(body));
      expect(r.status, JSON.stringify(body)).toBe(status);
      await r.text();
    }
    const legacy = await postJson(fake, acc, "/rest/app-chat/conversations/new", { ...chatBody("hi"), modeId: undefined, modelName: "grok-4-1", modelMode: "MODEL_MODE_AUTO" });
    expect(legacy.status).toBe(200);
    await legacy.text();
    const notJson = await postJson(fake, acc, "/rest/app-chat/conversations/new", "{oops");
    expect(notJson.status).toBe(400);
    expect(last().body).toBe("{oops");
    const wrongType = await postJson(fake, acc, "/rest/app-chat/conversations/new", chatBody("hi"), { "content-type": "text/plain" });
    expect(wrongType.status).toBe(400);
  });

  it("enforces cf_clearance bound to the first UA when required", async () => {
    fake.options.requireCfClearance = true;
    const noCf = await newChat(fake, acc);
    expect(noCf.status).toBe(403);
    expect(noCf.headers.get("server")).toBe("cloudflare");
    expect(await noCf.text()).toContain("Just a moment...");
    const cf = fake.issueCfClearance(UA);
    const ok = await newChat(fake, acc, "hi", {}, { cookie: cookieFor(acc, `; cf_clearance=${cf}`) });
    expect(ok.status).toBe(200);
    await ok.text();
    const otherUa = await newChat(fake, acc, "hi", {}, { cookie: cookieFor(acc, `; cf_clearance=${cf}`), "user-agent": "curl/8" });
    expect(otherUa.status).toBe(403);
    expect(last().rejected?.reason).toContain("another User-Agent");
  });

  it("enforces one UA per account in strict mode", async () => {
    fake.options.strictUserAgent = true;
    const a = fake.addAccount();
    const r1 = await newChat(fake, a);
    await r1.text();
    expect(r1.status).toBe(200);
    const r2 = await newChat(fake, a, "hi", {}, { "user-agent": "Mozilla/5.0 Firefox/140" });
    expect(r2.status).toBe(403);
    const img = (await frames(await newChat(fake, a, "#scenario:image-gen-2025"))).flatMap((f) => f.result?.response?.modelResponse?.generatedImageUrls ?? []);
    const get = (ua: string) => fetch(`${fake.assetsUrl}/${img[0]}`, { headers: { cookie: cookieFor(a), "user-agent": ua } });
    expect((await get(UA)).status).toBe(200);
    expect((await get("Mozilla/5.0 Firefox/140")).status).toBe(403);
  });

  it("records lower-case headers, cookies, parsed body and the account", async () => {
    const r = await newChat(fake, acc, "record me");
    await r.text();
    const rec = fake.chatRequests().at(-1)!;
    expect(rec.transport).toBe("http");
    expect(rec.method).toBe("POST");
    expect(rec.path).toBe("/rest/app-chat/conversations/new");
    expect(rec.headers["user-agent"]).toBe(UA);
    expect(rec.headers["x-statsig-id"]).toBeTruthy();
    expect(rec.cookies).toEqual({ sso: acc.sso, "sso-rw": acc.sso });
    expect((rec.body as { message: string }).message).toBe("record me");
    expect(rec.account).toBe(acc.sso);
    expect(rec.scenario).toBe("text");
    expect(rec.rejected).toBeUndefined();
    expect(restHeaders(fake, acc)["x-xai-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("answers unknown routes with 404 JSON", async () => {
    const r = await postJson(fake, acc, "/rest/nope", {});
    expect(r.status).toBe(404);
    expect((await r.json()).error.code).toBe(5);
  });
});
