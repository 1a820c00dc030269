import { mkdtemp, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isCacheName, MediaCache, MediaTooLargeError } from "../../src/server/media/cache.js";

const PNG = (n: number) => Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(n - 8, 7)]);
const JPG = (n: number) => Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(n - 4, 1)]);
const MP4 = (n: number) => Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from("ftypisom"), Buffer.alloc(n - 12, 2)]);

let dir: string;
let clock: number;
let caps: { image: number; video: number };
const make = () => new MediaCache({ dir, maxBytes: () => caps, instance: "host-a:8000", now: () => clock });

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "media-cache-"));
  clock = 1_000_000;
  caps = { image: 1_000_000, video: 1_000_000 };
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("MediaCache", () => {
  it("names files by 22 random base64url characters and the sniffed extension", async () => {
    const c = make();
    const a = await c.put("image", PNG(100), { mime: "image/jpeg", prompt: "a fox" });
    const b = await c.put("image", JPG(100), { mime: "application/octet-stream" });
    const v = await c.put("video", MP4(200), { mime: "video/mp4" });
    expect(a.name).toMatch(/^[A-Za-z0-9_-]{22}\.png$/);
    expect(a.mime).toBe("image/png");
    expect(b.name).toMatch(/\.jpg$/);
    expect(v.name).toMatch(/\.mp4$/);
    expect(a.name).not.toBe(b.name);
    expect(a).toMatchObject({ kind: "image", size: 100, prompt: "a fox", instance: "host-a:8000", createdAt: clock });
    expect(await readdir(join(dir, "images"))).toHaveLength(2);
    expect(await readdir(join(dir, "videos"))).toEqual([v.name]);
    const got = await c.get("image", a.name);
    expect(got?.path).toBe(join(dir, "images", a.name));
    expect(await c.get("video", a.name)).toBeNull();
  });

  it("never serves a declared type that is not media, nor a name it did not make", async () => {
    const c = make();
    const e = await c.put("image", Buffer.from("<html><script>alert(1)</script>"), { mime: "text/html" });
    expect(e.mime).toBe("application/octet-stream");
    expect(e.name).toMatch(/\.bin$/);
    for (const bad of ["../index.json", "index.json", `${e.name}/..`, "%2e%2e%2findex.json", "a\\b", "/etc/passwd", `x\0${e.name}`]) {
      expect(isCacheName(bad)).toBe(false);
      expect(await c.get("image", bad)).toBeNull();
    }
  });

  it("streams an AsyncIterable and refuses one over maxBytes without leaving a file", async () => {
    const c = make();
    async function* parts() {
      yield JPG(10);
      yield Buffer.alloc(10, 3);
    }
    const e = await c.put("image", parts(), { mime: "image/jpeg" });
    expect(e.size).toBe(20);
    await expect(c.put("image", parts(), { mime: "image/jpeg", maxBytes: 15 })).rejects.toBeInstanceOf(MediaTooLargeError);
    expect(await readdir(join(dir, "images"))).toEqual([e.name]);
  });

  it("evicts least recently used first, a get counting as a use, per kind", async () => {
    caps = { image: 300, video: 1000 };
    const c = make();
    const a = await c.put("image", PNG(100), { mime: "image/png" });
    clock += 10;
    await c.put("image", PNG(100), { mime: "image/png" }); // b
    clock += 10;
    const d = await c.put("image", PNG(100), { mime: "image/png" });
    const v = await c.put("video", MP4(900), { mime: "video/mp4" });
    clock += 10;
    await c.get("image", a.name); // a is now the most recent use
    clock += 10;
    const e = await c.put("image", PNG(100), { mime: "image/png" }); // over 300: b goes (oldest use)
    let names = (await c.list("image")).map((x) => x.name);
    expect(names.sort()).toEqual([a.name, d.name, e.name].sort());
    clock += 10;
    const f = await c.put("image", PNG(150), { mime: "image/png" }); // 450 → d (then a) go
    names = (await c.list("image")).map((x) => x.name);
    expect(names.sort()).toEqual([e.name, f.name].sort());
    expect((await c.list("video")).map((x) => x.name)).toEqual([v.name]);
    expect(await readdir(join(dir, "images"))).toHaveLength(2);
    expect((await c.size()).image).toEqual({ bytes: 250, count: 2 });
  });

  it("keeps the newest file even when it alone exceeds the cap", async () => {
    caps = { image: 50, video: 50 };
    const c = make();
    const a = await c.put("image", PNG(40), { mime: "image/png" });
    const b = await c.put("image", PNG(80), { mime: "image/png" });
    expect((await c.list()).map((x) => x.name)).toEqual([b.name]);
    expect(await c.get("image", a.name)).toBeNull();
  });

  it("lists newest first, sizes, removes one and clears by kind", async () => {
    const c = make();
    const a = await c.put("image", PNG(10), { mime: "image/png", prompt: "one" });
    clock += 1;
    const b = await c.put("image", PNG(20), { mime: "image/png", prompt: "two" });
    clock += 1;
    const v = await c.put("video", MP4(30), { mime: "video/mp4" });
    expect((await c.list()).map((x) => x.name)).toEqual([v.name, b.name, a.name]);
    expect(await c.size()).toEqual({ image: { bytes: 30, count: 2 }, video: { bytes: 30, count: 1 } });
    expect(await c.remove("image", a.name)).toBe(true);
    expect(await c.remove("image", a.name)).toBe(false);
    expect(await c.clear("video")).toBe(1);
    expect(await readdir(join(dir, "videos"))).toEqual([]);
    expect(await c.clear()).toBe(1);
    expect(await c.size()).toEqual({ image: { bytes: 0, count: 0 }, video: { bytes: 0, count: 0 } });
  });

  it("survives a restart: index reloaded, prompts and access times kept, vanished files dropped, strays adopted", async () => {
    const c = make();
    const a = await c.put("image", PNG(10), { mime: "image/png", prompt: "kept" });
    const b = await c.put("image", PNG(10), { mime: "image/png" });
    clock += 50;
    await c.get("image", a.name);
    await c.flush();
    await rm(join(dir, "images", b.name));
    const stray = "AAAAAAAAAAAAAAAAAAAAAA.jpg";
    await writeFile(join(dir, "images", stray), JPG(12));
    await writeFile(join(dir, "images", ".tmp-deadbeef"), "partial");
    const c2 = make();
    const list = await c2.list("image");
    expect(list.map((x) => x.name).sort()).toEqual([a.name, stray].sort());
    expect(list.find((x) => x.name === a.name)).toMatchObject({ prompt: "kept", lastAccessAt: clock });
    expect(list.find((x) => x.name === stray)).toMatchObject({ mime: "image/jpeg", size: 12, prompt: null });
    expect(await readdir(join(dir, "images"))).not.toContain(".tmp-deadbeef");
  });

  it("does not serve a symlink put in place of a cached file", async () => {
    const c = make();
    const a = await c.put("image", PNG(10), { mime: "image/png" });
    await rm(join(dir, "images", a.name));
    await writeFile(join(dir, "secret.txt"), "secret");
    await symlink(join(dir, "secret.txt"), join(dir, "images", a.name));
    expect(await c.get("image", a.name)).toBeNull();
    // A restart does not adopt it either.
    expect(await make().list()).toEqual([]);
  });
});

describe("MediaCache shared by two processes (one data folder)", () => {
  it("serves and keeps the other one's files, with their prompt and instance", async () => {
    const a = new MediaCache({ dir, maxBytes: () => caps, instance: "proc-a", now: () => clock });
    const b = new MediaCache({ dir, maxBytes: () => caps, instance: "proc-b", now: () => clock });
    await a.list();
    await b.list();
    const fromA = await a.put("image", PNG(50), { mime: "image/png", prompt: "made by a" });
    const fromB = await b.put("image", PNG(60), { mime: "image/png", prompt: "made by b" });
    // b never saw a's put: adopted on first use, metadata from the shared index.
    const got = await b.get("image", fromA.name);
    expect(got?.meta).toMatchObject({ prompt: "made by a", instance: "proc-a", size: 50 });
    // a's next index write keeps b's entry.
    await a.put("image", PNG(10), { mime: "image/png" });
    const fresh = new MediaCache({ dir, maxBytes: () => caps, instance: "proc-c" });
    const listed = await fresh.list("image");
    expect(listed.find((e) => e.name === fromB.name)).toMatchObject({ prompt: "made by b", instance: "proc-b" });
    expect(listed).toHaveLength(3);
    // Clearing from one process removes every cached file in the folder.
    const other = await b.put("image", PNG(20), { mime: "image/png" });
    expect(await a.clear("image")).toBe(4);
    expect(await readdir(join(dir, "images"))).toEqual([]);
    expect(await b.get("image", other.name)).toBeNull();
  });
});
