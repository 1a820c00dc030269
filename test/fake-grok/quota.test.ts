import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { FakeAccount, FakeGrok } from "./index.js";
import { USAGE_LIMIT_MESSAGE, startFakeGrok } from "./index.js";
import { encodeCreditsMessage, grpcWebFrame } from "./quota.js";
import { chatBody, frames, gatewayTurn, newChat, postJson, restHeaders } from "./test-helpers.js";

let fake: FakeGrok;
beforeAll(async () => {
  fake = await startFakeGrok();
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());

const rateLimits = async (acc: FakeAccount, body: unknown) => {
  const r = await postJson(fake, acc, "/rest/rate-limits", body);
  return { status: r.status, body: await r.json() };
};
const quotaInfo = async (acc: FakeAccount) => (await postJson(fake, acc, "/rest/media/imagine/quota_info", {}, { referer: `${fake.url}/imagine` })).json();

const CAPTURED =
  "00000000630a610d0000304112001a00220c089abbccd2061080f2d1fc012a0c089ab0f1d2061080f2d1fc013a07080515000020413a070804150000803f3a020802421e0802120c089abbccd2061080f2d1fc011a0c089ab0f1d2061080f2d1fc01580162006801800000000f677270632d7374617475733a300d0a";

/** Tiny protobuf reader: field number → list of raw values (varint as bigint, fixed32 as Buffer, LEN as Buffer). */
function decode(buf: Buffer): Map<number, Array<bigint | Buffer>> {
  const out = new Map<number, Array<bigint | Buffer>>();
  let i = 0;
  const varint = () => {
    let r = 0n;
    let s = 0n;
    while (true) {
      const b = buf[i++]!;
      r |= BigInt(b & 0x7f) << s;
      s += 7n;
      if (!(b & 0x80)) return r;
    }
  };
  while (i < buf.length) {
    const key = Number(varint());
    const field = key >> 3;
    const wire = key & 7;
    let v: bigint | Buffer;
    if (wire === 0) v = varint();
    else if (wire === 5) v = buf.subarray(i, (i += 4));
    else if (wire === 2) {
      const len = Number(varint());
      v = buf.subarray(i, (i += len));
    } else throw new Error(`wire ${wire}`);
    out.set(field, [...(out.get(field) ?? []), v]);
  }
  return out;
}

async function credits(acc: FakeAccount): Promise<{ res: Response; body: Buffer }> {
  const headers = restHeaders(fake, acc, { "content-type": "application/grpc-web+proto", "x-grpc-web": "1", "x-user-agent": "connect-es/2.1.1", "x-xai-request-id": undefined, "x-statsig-id": undefined });
  const res = await fetch(`${fake.url}/grok_api_v2.GrokBuildBilling/GetGrokCreditsConfig`, { method: "POST", headers, body: Buffer.from([0, 0, 0, 0, 0]) });
  return { res, body: Buffer.from(await res.arrayBuffer()) };
}

function usedPercent(body: Buffer): number | undefined {
  expect(body[0]).toBe(0);
  const len = body.readUInt32BE(1);
  const msg = body.subarray(5, 5 + len);
  const trailer = body.subarray(5 + len);
  expect(trailer[0]).toBe(0x80);
  expect(trailer.subarray(5).toString()).toBe("grpc-status:0\r\n");
  const config = decode(decode(msg).get(1)![0] as Buffer);
  const f = config.get(1)?.[0] as Buffer | undefined;
  return f ? f.readFloatLE(0) : undefined;
}

describe("POST /rest/rate-limits", () => {
  it("minimal per-mode variant with tier totals", async () => {
    const basic = fake.addAccount({ tier: "basic" });
    const sup = fake.addAccount({ tier: "super" });
    const heavy = fake.addAccount({ tier: "heavy" });
    expect(await rateLimits(basic, { modelName: "fast" })).toEqual({ status: 200, body: { windowSizeSeconds: 86400, remainingQueries: 30, totalQueries: 30, lowEffortRateLimits: null, highEffortRateLimits: null } });
    expect((await rateLimits(basic, { modelName: "auto" })).body.totalQueries).toBe(7);
    expect((await rateLimits(sup, { modelName: "fast" })).body.totalQueries).toBe(140);
    expect((await rateLimits(sup, { modelName: "auto" })).body.totalQueries).toBe(50);
    expect((await rateLimits(heavy, { modelName: "fast" })).body.totalQueries).toBe(400);
    expect((await rateLimits(heavy, { modelName: "heavy" })).body.totalQueries).toBeGreaterThan(0);
    expect((await rateLimits(sup, { modelName: "heavy" })).body.totalQueries).toBe(0);
  });

  it("legacy token-budget variant and the flat grok-4-heavy variant", async () => {
    const a = fake.addAccount({ tier: "basic" });
    expect((await rateLimits(a, { requestKind: "DEFAULT", modelName: "grok-3" })).body).toEqual({
      windowSizeSeconds: 7200, remainingQueries: 0, totalQueries: 0, remainingTokens: 80, totalTokens: 80, waitTimeSeconds: 0,
      lowEffortRateLimits: { cost: 1, remainingQueries: 80, waitTimeSeconds: 0 }, highEffortRateLimits: { cost: 4, remainingQueries: 20, waitTimeSeconds: 0 },
      preGenerationDelayMs: 0,
    });
    expect(Object.keys((await rateLimits(a, { requestKind: "DEFAULT", modelName: "grok-4-heavy" })).body).sort()).toEqual(["remainingQueries", "totalQueries", "windowSizeSeconds"]);
    expect((await rateLimits(a, { modelName: "gpt-4" })).status).toBe(400);
    expect((await rateLimits(a, { requestKind: "WHATEVER", modelName: "grok-3" })).status).toBe(400);
    expect((await rateLimits(a, {})).status).toBe(400);
  });

  it("counts down per served turn of a mode; failures do not count", async () => {
    const a = fake.addAccount({ tier: "super" });
    await frames(await newChat(fake, a));
    await frames(await newChat(fake, a, "x", { modeId: "auto" }));
    fake.queue(a.sso, "http-429", "in-stream-rate-limit");
    await (await newChat(fake, a)).text();
    await (await newChat(fake, a)).text();
    const g = await gatewayTurn(fake, a, "[user]\nhi", "expert");
    g.client.close();
    expect((await rateLimits(a, { modelName: "fast" })).body.remainingQueries).toBe(139);
    expect((await rateLimits(a, { modelName: "auto" })).body.remainingQueries).toBe(49);
    expect((await rateLimits(a, { modelName: "expert" })).body.remainingQueries).toBe(49);
    expect(fake.account(a.sso)!.quota.fast!.remaining).toBe(139);
    // legacy bodies spend the token budget: 4 for expert modes
    await frames(await postJson(fake, a, "/rest/app-chat/conversations/new", { ...chatBody("x"), modeId: undefined, modelName: "grok-4", modelMode: "MODEL_MODE_EXPERT" }));
    expect((await rateLimits(a, { modelName: "grok-4" })).body.remainingTokens).toBe(136);
  });

  it("an exhausted mode answers with the usage-limit signature on both transports", async () => {
    const a = fake.addAccount({ tier: "basic" });
    const rest = await frames(await newChat(fake, a, "x", { modeId: "expert" })); // Basic has no expert queries
    expect(rest.at(-1).result.response.error.message).toBe(USAGE_LIMIT_MESSAGE);
    fake.setQuota(a.sso, "fast", { remaining: 0 });
    const gw = await gatewayTurn(fake, a);
    expect(gw.events).toEqual([{ session_id: gw.sessionId, event: { type: "error", error: { code: "rate_limited", message: USAGE_LIMIT_MESSAGE } } }]);
    gw.client.close();
    fake.setQuota(a.sso, "fast", { remaining: 2, total: 30 });
    expect((await rateLimits(a, { modelName: "fast" })).body).toMatchObject({ remainingQueries: 2, totalQueries: 30 });
  });

  it("the weekly pool of paid tiers also gates auto/expert/heavy", async () => {
    const a = fake.addAccount({ tier: "super" });
    fake.setQuota(a.sso, "weekly", { remaining: 0, total: 100 });
    const rest = await frames(await newChat(fake, a, "x", { modeId: "expert" }));
    expect(rest.at(-1).result.response.error.message).toBe(USAGE_LIMIT_MESSAGE);
    const fast = await frames(await newChat(fake, a));
    expect(fast.some((f) => f.result?.response?.error)).toBe(false);
  });
});

describe("POST /rest/media/imagine/quota_info", () => {
  it("always has the five keys; null where not applicable", async () => {
    const basic = fake.addAccount({ tier: "basic" });
    const q = await quotaInfo(basic);
    expect(Object.keys(q).sort()).toEqual(["image", "imageEdit", "imagePro", "video", "video720p"]);
    expect(q.image).toBeNull();
    expect(q.video).toBeNull();
    expect(q.video720p).toEqual({ available: true, remainingQueries: 4, windowSizeSeconds: 86400 });
    const sup = fake.addAccount({ tier: "super" });
    expect((await quotaInfo(sup)).video).toEqual({ available: true, remainingQueries: 20, windowSizeSeconds: 86400 });
    fake.setQuota(sup.sso, "image_edit", { remaining: 0, total: 0 });
    expect((await quotaInfo(sup)).imageEdit).toEqual({ available: false });
  });

  it("reports nextAvailableAt once a product is used up", async () => {
    const a = fake.addAccount({ tier: "basic" });
    fake.setQuota(a.sso, "video_720p", { remaining: 0, nextAvailableAt: "2026-08-18T04:47:49.902572219Z" });
    expect((await quotaInfo(a)).video720p).toEqual({ available: true, remainingQueries: 0, windowSizeSeconds: 86400, nextAvailableAt: "2026-08-18T04:47:49.902572219Z" });
  });
});

describe("weekly credits gRPC-web", () => {
  it("the encoder reproduces the §10.3 capture byte for byte", () => {
    const start = { seconds: 1783831962, nanos: 529824000 };
    const end = { seconds: 1784436762, nanos: 529824000 };
    const bytes = grpcWebFrame(encodeCreditsMessage({ usedPercent: 11, start, end, breakdown: [{ code: 5, percent: 10 }, { code: 4, percent: 1 }, { code: 2, percent: 0 }] }));
    expect(bytes.toString("hex")).toBe(CAPTURED);
  });

  it("serves application/grpc-web+proto with the trailer; paid usage grows with pooled turns", async () => {
    const a = fake.addAccount({ tier: "super" });
    const first = await credits(a);
    expect(first.res.status).toBe(200);
    expect(first.res.headers.get("content-type")).toBe("application/grpc-web+proto");
    expect(usedPercent(first.body)).toBe(11);
    const g = await gatewayTurn(fake, a, "[user]\nhi", "expert");
    g.client.close();
    expect(usedPercent((await credits(a)).body)).toBe(12);
    const free = fake.addAccount({ tier: "basic" });
    expect(usedPercent((await credits(free)).body)).toBeUndefined();
  });

  it("rejects other content types and bodies", async () => {
    const a = fake.addAccount({ tier: "super" });
    const r = await fetch(`${fake.url}/grok_api_v2.GrokBuildBilling/GetGrokCreditsConfig`, { method: "POST", headers: restHeaders(fake, a), body: "{}" });
    expect(r.status).toBe(400);
  });
});
