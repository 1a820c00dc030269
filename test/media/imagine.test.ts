import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import type { GrokEvent } from "../../src/server/core/events.js";
import type { GrokContext } from "../../src/server/grok/context.js";
import { imagineRound } from "../../src/server/grok/imagine.js";
import { createLogger } from "../../src/server/log.js";

/** A scripted Imagine socket: each connection answers its request with the frames of `script`. */
let script: (req: { n: number }) => unknown[] = () => [];
let origin = "";
const server = createServer();
const wss = new WebSocketServer({ server });
wss.on("connection", (ws) => {
  ws.on("message", (raw) => {
    const m = JSON.parse(String(raw)) as { item: { content: Array<{ type: string; properties?: { num_generations: number } }> } };
    const part = m.item.content[0]!;
    if (part.type === "reset") return;
    for (const f of script({ n: part.properties!.num_generations })) ws.send(JSON.stringify(f));
  });
});
beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  wss.close();
  await new Promise((r) => server.close(r));
});

const ctx = (): GrokContext =>
  ({
    origin,
    log: createLogger("silent"),
    identity: () => ({ userAgent: "UA", cfClearance: "", origin, acceptEncoding: "gzip" }),
    proxyUrl: () => undefined,
  }) as unknown as GrokContext;

async function round(n: number, settleMs = 50): Promise<GrokEvent[]> {
  const out: GrokEvent[] = [];
  for await (const e of imagineRound(ctx(), { token: "sso", userId: null }, { prompt: "p", n, aspectRatio: "auto", pro: false }, new AbortController().signal, { settleMs })) out.push(e);
  return out;
}
const start = (id: string, order: number) => ({ type: "json", current_status: "start_stage", image_id: id, order });
const img = (id: string, pct: number, blob: string) => ({ type: "image", id, url: `https://imagine-public.x.ai/imagine-public/images/${id}.jpg`, blob, percentage_complete: pct });
const done = (id: string, moderated = false) => ({ type: "json", current_status: "completed", image_id: id, moderated });

describe("Imagine round", () => {
  it("one final per slot (blob as data URL), out of order, moderated slots flagged, then done", async () => {
    script = () => [start("a", 0), start("b", 1), start("c", 2), img("a", 50, "UFJF"), done("a"), img("a", 100, "QUFB"), img("b", 100, "QkJC"), done("b", true), img("c", 100, "Q0ND"), done("c")];
    const events = await round(3);
    const images = events.filter((e): e is Extract<GrokEvent, { type: "image" }> => e.type === "image");
    const finals = images.filter((e) => e.final);
    expect(finals.map((e) => [e.id, e.url])).toEqual([
      ["a", "data:image/jpeg;base64,QUFB"],
      ["c", "data:image/jpeg;base64,Q0ND"],
    ]);
    expect(images.filter((e) => e.moderated).map((e) => e.id)).toEqual(["b"]);
    expect(events.at(-1)).toMatchObject({ type: "done", status: "completed" });
  });

  it("ends after a short settle when grok.com makes fewer images than asked", async () => {
    script = () => [start("a", 0), img("a", 100, "QUFB"), done("a")];
    const t = Date.now();
    const events = await round(4, 80);
    expect(events.filter((e) => e.type === "image" && e.final)).toHaveLength(1);
    expect(events.at(-1)!.type).toBe("done");
    expect(Date.now() - t).toBeGreaterThanOrEqual(70);
  });

  it("an error frame fails the round; a rate limit is classified as one", async () => {
    script = () => [{ type: "error", err_code: "rate_limit_exceeded", err_msg: "You've reached your usage limit. Please try again later." }];
    const [e] = await round(1);
    expect(e).toMatchObject({ type: "error", error: { kind: "rate_limited" } });
    script = () => [{ type: "error", err_code: "internal", err_msg: "boom" }];
    const [e2] = await round(1);
    expect(e2).toMatchObject({ type: "error", error: { kind: "upstream_error" } });
    expect((e2 as Extract<GrokEvent, { type: "error" }>).error.message).toMatch(/Imagine failed: boom/);
  });
});
