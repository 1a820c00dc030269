import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openapiValidator } from "../support/openapi.js";
import { startStack, type Stack } from "../support/stack.js";

const errorSchema = openapiValidator("ErrorResponse");
let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ accounts: 1, env: { GROK2API_API_KEY: "key-one, key-two" } });
});
afterAll(async () => stack?.close());

const body = JSON.stringify({ model: "grok-chat-fast", messages: [{ role: "user", content: "hi" }] });
const post = (path: string, headers: Record<string, string> = {}, b = body) => fetch(`${stack.url}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: b });

describe("client auth", () => {
  it.each([
    ["Authorization Bearer", { authorization: "Bearer key-one" }],
    ["x-api-key", { "x-api-key": "key-two" }],
    ["api-key", { "api-key": "key-one" }],
  ])("accepts %s", async (_name, headers) => {
    expect((await post("/v1/chat/completions", headers)).status).toBe(200);
  });

  it("rejects a missing or wrong key with a 401 in the OpenAI shape", async () => {
    for (const headers of [{}, { authorization: "Bearer nope" }] as Array<Record<string, string>>) {
      const res = await post("/v1/chat/completions", headers);
      expect(res.status).toBe(401);
      const json = await res.json();
      errorSchema(json);
      expect(json.error.code).toBe("invalid_api_key");
    }
    const client = new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: "wrong", maxRetries: 0 });
    await expect(client.models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
  });
});

describe("HTTP surface", () => {
  it("serves routes with and without the /v1 prefix", async () => {
    expect((await post("/chat/completions", { authorization: "Bearer key-one" })).status).toBe(200);
    expect((await fetch(`${stack.url}/models`, { headers: { authorization: "Bearer key-one" } })).status).toBe(200);
  });

  it("answers CORS preflights echoing the requested headers", async () => {
    const res = await fetch(`${stack.url}/v1/chat/completions`, {
      method: "OPTIONS",
      headers: { origin: "http://localhost:3000", "access-control-request-method": "POST", "access-control-request-headers": "authorization, x-stainless-os, anthropic-version" },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    expect(res.headers.get("access-control-allow-headers")).toBe("authorization, x-stainless-os, anthropic-version");
  });

  it("answers unknown routes and unserved endpoints with a 404 JSON error", async () => {
    for (const path of ["/v1/nope", "/v1/embeddings", "/v1/completions"]) {
      const res = await post(path, { authorization: "Bearer key-one" });
      expect(res.status).toBe(404);
      errorSchema(await res.json());
    }
  });

  it("rejects bad input with a 400 naming the field", async () => {
    const cases: Array<[string, string]> = [
      ["{not json", "invalid_json"],
      [JSON.stringify({ model: "grok-chat-fast" }), "messages"],
      [JSON.stringify({ model: "grok-chat-fast", messages: [{ role: "user", content: "x" }], n: 3 }), "n"],
    ];
    for (const [b, expected] of cases) {
      const res = await post("/v1/chat/completions", { authorization: "Bearer key-one" }, b);
      expect(res.status).toBe(400);
      const json = await res.json();
      errorSchema(json);
      expect([json.error.param, json.error.code]).toContain(expected);
    }
  });

  it("refuses a foreign Host on a loopback listener (DNS rebinding)", async () => {
    const { request } = await import("node:http");
    const status = (host: string) =>
      new Promise<number>((resolve, reject) => {
        const u = new URL(stack.url);
        const req = request({ host: u.hostname, port: u.port, path: "/v1/models", headers: { host, authorization: "Bearer key-one" } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on("error", reject);
        req.end();
      });
    expect(await status("evil.example:8000")).toBe(403);
    expect(await status("localhost:8000")).toBe(200);
    expect(await status("127.0.0.1")).toBe(200);
  });

  it("answers /health: only \"ok\" to strangers while a key is set, the details with the key", async () => {
    const anon = await fetch(`${stack.url}/health`);
    expect(anon.status).toBe(200);
    expect(await anon.json()).toEqual({ status: "ok" });
    const res = await fetch(`${stack.url}/health`, { headers: { authorization: "Bearer key-one" } });
    expect(await res.json()).toMatchObject({ status: "ok", storage: "file", accounts: { total: 1 } });
  });
});
