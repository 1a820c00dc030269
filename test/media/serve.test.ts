import { request as httpRequest } from "node:http";
import { mkdir, rm, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseRange } from "../../src/server/media/serve.js";
import { type Stack, startStack } from "../support/stack.js";

const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from(Array.from({ length: 300 }, (_, i) => i % 251))]);
const MP4 = Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from("ftypisom"), Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7) % 256))]);

/** A raw HTTP request: fetch() would normalise dot segments and encodings before sending. */
function raw(url: string, rawPath: string, headers: Record<string, string> = {}, method = "GET"): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: u.hostname, port: u.port, path: rawPath, method, headers }, (res) => {
      const parts: Buffer[] = [];
      res.on("data", (c: Buffer) => parts.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }));
    });
    req.on("error", reject);
    req.end();
  });
}

let stack: Stack;
let image: string;
let video: string;

beforeAll(async () => {
  stack = await startStack({ accounts: 0 });
  image = (await stack.server.deps.media.put("image", PNG, { mime: "image/png", prompt: "a test pattern" })).name;
  video = (await stack.server.deps.media.put("video", MP4, { mime: "video/mp4" })).name;
});
afterAll(async () => {
  await stack?.close();
});

describe("GET /images/{name}, /videos/{name}", () => {
  it("serves the bytes with type, immutable caching, ETag and nosniff, without a key", async () => {
    const res = await fetch(`${stack.url}/images/${image}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("image/png");
    expect(res.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("accept-ranges")).toBe("bytes");
    expect(res.headers.get("etag")).toMatch(/^"[A-Za-z0-9_-]{22}-[0-9a-f]+"$/);
    expect(Buffer.from(await res.arrayBuffer()).equals(PNG)).toBe(true);
    const v = await fetch(`${stack.url}/videos/${video}`);
    expect(v.headers.get("content-type")).toBe("video/mp4");
    expect(Buffer.from(await v.arrayBuffer()).equals(MP4)).toBe(true);
  });

  it("is served to a cross-site <img> load (Sec-Fetch-Site: cross-site, no Origin)", async () => {
    const res = await raw(stack.url, `/images/${image}`, { "sec-fetch-site": "cross-site", "sec-fetch-dest": "image" });
    expect(res.status).toBe(200);
    expect(res.body.equals(PNG)).toBe(true);
  });

  it("answers 304 to If-None-Match (also in a list and weak) and to If-Modified-Since", async () => {
    const etag = (await fetch(`${stack.url}/images/${image}`)).headers.get("etag")!;
    for (const inm of [etag, `"x", ${etag}`, `W/${etag}`, "*"]) {
      const res = await fetch(`${stack.url}/images/${image}`, { headers: { "if-none-match": inm } });
      expect(res.status, inm).toBe(304);
      expect(res.headers.get("etag")).toBe(etag);
      expect((await res.arrayBuffer()).byteLength).toBe(0);
    }
    expect((await fetch(`${stack.url}/images/${image}`, { headers: { "if-none-match": '"other"' } })).status).toBe(200);
    expect((await fetch(`${stack.url}/images/${image}`, { headers: { "if-modified-since": new Date(Date.now() + 60_000).toUTCString() } })).status).toBe(304);
    expect((await fetch(`${stack.url}/images/${image}`, { headers: { "if-modified-since": new Date(0).toUTCString() } })).status).toBe(200);
  });

  it("serves byte ranges with 206 and refuses unsatisfiable ones with 416", async () => {
    const r1 = await fetch(`${stack.url}/videos/${video}`, { headers: { range: "bytes=100-199" } });
    expect(r1.status).toBe(206);
    expect(r1.headers.get("content-range")).toBe(`bytes 100-199/${MP4.length}`);
    expect(r1.headers.get("content-length")).toBe("100");
    expect(Buffer.from(await r1.arrayBuffer()).equals(MP4.subarray(100, 200))).toBe(true);
    const r2 = await fetch(`${stack.url}/videos/${video}`, { headers: { range: "bytes=-10" } });
    expect(r2.status).toBe(206);
    expect(Buffer.from(await r2.arrayBuffer()).equals(MP4.subarray(MP4.length - 10))).toBe(true);
    const r3 = await fetch(`${stack.url}/videos/${video}`, { headers: { range: `bytes=${MP4.length - 5}-` } });
    expect(Buffer.from(await r3.arrayBuffer()).equals(MP4.subarray(MP4.length - 5))).toBe(true);
    const r4 = await fetch(`${stack.url}/images/${image}`, { headers: { range: "bytes=0-3" } });
    expect(r4.status).toBe(206);
    expect(Buffer.from(await r4.arrayBuffer()).equals(PNG.subarray(0, 4))).toBe(true);
    const bad = await fetch(`${stack.url}/videos/${video}`, { headers: { range: `bytes=${MP4.length}-` } });
    expect(bad.status).toBe(416);
    expect(bad.headers.get("content-range")).toBe(`bytes */${MP4.length}`);
    // A stale If-Range sends the whole file.
    const stale = await fetch(`${stack.url}/videos/${video}`, { headers: { range: "bytes=0-9", "if-range": '"stale"' } });
    expect(stale.status).toBe(200);
    expect((await stale.arrayBuffer()).byteLength).toBe(MP4.length);
    const head = await fetch(`${stack.url}/videos/${video}`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-length")).toBe(String(MP4.length));
  });

  it("refuses every traversal form and every name it did not make", async () => {
    await writeFile(path.join(stack.dataDir, "secret.txt"), "top secret");
    await mkdir(path.join(stack.dataDir, "media", "images"), { recursive: true });
    const forms = [
      "/images/../secret.txt",
      "/images/..%2f..%2fsecret.txt",
      "/images/%2e%2e/%2e%2e/secret.txt",
      "/images/%2e%2e%2f%2e%2e%2fsecret.txt",
      "/images/..%5c..%5csecret.txt",
      "/images/..\\..\\secret.txt",
      "/images/%2fetc%2fpasswd",
      "/images//etc/passwd",
      `/images/${image}%00.png`,
      `/images/${encodeURIComponent(image)}%2f`,
      "/images/../index.json",
      "/images/index.json",
      "/images/.tmp-0000",
      `/videos/${image}`, // an image name under /videos
      `/images/${image.replace(/^./, (c) => (c === "A" ? "B" : "A"))}`,
      "/images/",
    ];
    for (const f of forms) {
      const res = await raw(stack.url, f);
      expect(res.status, f).toBe(404);
      expect(res.body.toString()).not.toContain("top secret");
    }
  });

  it("does not follow a symlink placed under a cached name", async () => {
    const e = await stack.server.deps.media.put("image", PNG, { mime: "image/png" });
    const file = path.join(stack.dataDir, "media", "images", e.name);
    await rm(file);
    await symlink(path.join(stack.dataDir, "secret.txt"), file);
    const res = await raw(stack.url, `/images/${e.name}`);
    expect(res.status).toBe(404);
    expect(res.body.toString()).not.toContain("top secret");
  });
});

describe("parseRange", () => {
  it("parses single ranges and rejects the rest", () => {
    expect(parseRange("bytes=0-0", 10)).toEqual({ start: 0, end: 0 });
    expect(parseRange("bytes=5-100", 10)).toEqual({ start: 5, end: 9 });
    expect(parseRange("bytes=-3", 10)).toEqual({ start: 7, end: 9 });
    expect(parseRange("bytes=-30", 10)).toEqual({ start: 0, end: 9 });
    expect(parseRange("bytes=10-", 10)).toBe("unsatisfiable");
    expect(parseRange("bytes=-0", 10)).toBe("unsatisfiable");
    expect(parseRange("bytes=5-2", 10)).toBeNull();
    expect(parseRange("bytes=0-1,3-4", 10)).toBeNull();
    expect(parseRange("items=0-1", 10)).toBeNull();
  });
});

describe("admin cache routes", () => {
  it("need a session", async () => {
    for (const [m, p] of [["GET", "/api/cache/size"], ["POST", "/api/cache/clear"], ["GET", "/api/cache/list"]] as const) {
      expect((await fetch(`${stack.url}${p}`, { method: m })).status, p).toBe(401);
    }
  });

  it("size, list (prompt, instance, fetchable url), delete one, clear by kind and all", async () => {
    const auth = { authorization: `Bearer ${await stack.adminToken()}`, "content-type": "application/json" };
    const media = stack.server.deps.media;
    await media.clear();
    const a = await media.put("image", PNG, { mime: "image/png", prompt: "first" });
    const b = await media.put("image", PNG, { mime: "image/png", prompt: "second" });
    const v = await media.put("video", MP4, { mime: "video/mp4", prompt: "moving" });
    const size = (await (await fetch(`${stack.url}/api/cache/size`, { headers: auth })).json()) as any;
    expect(size.success).toBe(true);
    expect(size.data).toMatchObject({ image_size_bytes: 2 * PNG.length, video_size_bytes: MP4.length, total_size_bytes: 2 * PNG.length + MP4.length, image_count: 2, video_count: 1 });
    expect(size.data.image_size).toMatch(/KB$/);
    const list = (await (await fetch(`${stack.url}/api/cache/list?kind=image`, { headers: auth })).json()) as any;
    expect(list.total).toBe(2);
    expect(list.data.map((x: any) => x.prompt).sort()).toEqual(["first", "second"]);
    const first = list.data.find((x: any) => x.name === a.name);
    expect(first).toMatchObject({ kind: "image", mime: "image/png", size: PNG.length, instance: media.instance, path: `/images/${a.name}` });
    expect(typeof first.created_at).toBe("number");
    expect(Buffer.from(await (await fetch(first.url)).arrayBuffer()).equals(PNG)).toBe(true);
    expect(((await (await fetch(`${stack.url}/api/cache/list`, { headers: auth })).json()) as any).total).toBe(3);
    expect((await fetch(`${stack.url}/api/cache/list?kind=audio`, { headers: auth })).status).toBe(400);

    const del = await fetch(`${stack.url}/api/cache/delete`, { method: "POST", headers: auth, body: JSON.stringify({ name: b.name }) });
    expect(del.status).toBe(200);
    expect((await fetch(`${stack.url}/images/${b.name}`)).status).toBe(404);
    expect((await fetch(`${stack.url}/api/cache/delete`, { method: "POST", headers: auth, body: JSON.stringify({ name: b.name }) })).status).toBe(404);

    const ci = (await (await fetch(`${stack.url}/api/cache/clear/images`, { method: "POST", headers: auth })).json()) as any;
    expect(ci).toMatchObject({ success: true, data: { deleted_count: 1, type: "images" } });
    expect((await fetch(`${stack.url}/videos/${v.name}`)).status).toBe(200);
    await media.put("image", PNG, { mime: "image/png" });
    const cv = (await (await fetch(`${stack.url}/api/cache/clear/videos`, { method: "POST", headers: auth })).json()) as any;
    expect(cv.data).toEqual({ deleted_count: 1, type: "videos" });
    expect((await fetch(`${stack.url}/videos/${v.name}`)).status).toBe(404);
    await media.put("video", MP4, { mime: "video/mp4" });
    const all = (await (await fetch(`${stack.url}/api/cache/clear`, { method: "POST", headers: auth })).json()) as any;
    expect(all.data).toEqual({ deleted_count: 2, image_count: 1, video_count: 1 });
    expect(await media.size()).toEqual({ image: { bytes: 0, count: 0 }, video: { bytes: 0, count: 0 } });
  });

  it("evicts least recently used files past image_cache_max_size_mb", async () => {
    const media = stack.server.deps.media;
    await media.clear();
    await stack.server.deps.settings.update({ global: { image_cache_max_size_mb: 1 } });
    try {
      const big = (seed: number) => Buffer.concat([PNG.subarray(0, 8), Buffer.alloc(400 * 1024, seed)]);
      const a = await media.put("image", big(1), { mime: "image/png" });
      const b = await media.put("image", big(2), { mime: "image/png" });
      await new Promise((r) => setTimeout(r, 5));
      expect((await fetch(`${stack.url}/images/${a.name}`)).status).toBe(200); // a used after b
      await new Promise((r) => setTimeout(r, 5));
      const c = await media.put("image", big(3), { mime: "image/png" }); // 1.2 MB > 1 MB: b goes
      expect((await fetch(`${stack.url}/images/${b.name}`)).status).toBe(404);
      expect((await fetch(`${stack.url}/images/${a.name}`)).status).toBe(200);
      expect((await fetch(`${stack.url}/images/${c.name}`)).status).toBe(200);
    } finally {
      await stack.server.deps.settings.update({ global: { image_cache_max_size_mb: 512 } });
    }
  });
});
