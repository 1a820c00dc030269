import { randomBytes } from "node:crypto";
import { createWriteStream, type WriteStream } from "node:fs";
import { lstat, mkdir, readdir, readFile, rename, rm, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "../log.js";
import { extensionFor, mimeForExtension, sniffMediaType } from "./mime.js";

/**
 * The local media cache: generated images and videos downloaded from grok.com (whose asset
 * links need the owning account's cookies) and re-served under unguessable names.
 *
 * Layout: `<dir>/images/<id>.<ext>`, `<dir>/videos/<id>.<ext>`, metadata in `<dir>/index.json`.
 * Names are 22 base64url characters of crypto randomness (132 bits) plus the extension of the
 * sniffed type. Size caps per kind are enforced by least-recently-used eviction after each put;
 * `get` counts as a use. Files stay local to this instance (`instance` says which one) whatever
 * the storage mode; the index is rebuilt from the folders when missing or stale. Several
 * processes may share one data folder: a name another process made is adopted on first use,
 * and index writes merge in the entries of files that still exist.
 */

export type MediaKind = "image" | "video";
export const MEDIA_KINDS: readonly MediaKind[] = ["image", "video"];

export interface CachedMedia {
  name: string;
  kind: MediaKind;
  mime: string;
  size: number;
  createdAt: number;
  lastAccessAt: number;
  prompt: string | null;
  instance: string;
}

export interface MediaCacheOptions {
  /** The media folder, normally `<dataDir>/media`. */
  dir: string;
  /** Current caps in bytes (read on every put, so settings changes apply at once). */
  maxBytes: () => Record<MediaKind, number>;
  /** Which instance holds these files (shown by the listing). */
  instance: string;
  log?: Logger;
  /** Clock, for tests. */
  now?: () => number;
}

export interface PutMeta {
  /** Declared type; the sniffed type of the bytes wins when they are recognised. */
  mime: string;
  prompt?: string | null;
  /** Refuse (and delete) a body larger than this many bytes. */
  maxBytes?: number;
}

/** A body over PutMeta.maxBytes. */
export class MediaTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`media larger than ${limit} bytes`);
    this.name = "MediaTooLargeError";
  }
}

const FOLDER: Record<MediaKind, string> = { image: "images", video: "videos" };
/** Exactly the names put() makes: nothing else is ever looked up on disk. */
const NAME = /^[A-Za-z0-9_-]{22}\.[a-z0-9]{2,5}$/;
const INDEX = "index.json";
const ACCESS_FLUSH_MS = 2000;

export function isCacheName(name: string): boolean {
  return NAME.test(name);
}

export function kindFolder(kind: MediaKind): string {
  return FOLDER[kind];
}

function newName(ext: string): string {
  return `${randomBytes(16).toString("base64url").slice(0, 22)}.${ext}`;
}

async function* chunksOf(data: Uint8Array | AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  if (data instanceof Uint8Array) yield data;
  else for await (const c of data) yield c;
}

function writeChunk(out: WriteStream, chunk: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    out.write(chunk, (err) => (err ? reject(err) : resolve()));
  });
}

function endStream(out: WriteStream): Promise<void> {
  return new Promise((resolve, reject) => {
    out.once("error", reject);
    out.end(() => resolve());
  });
}

export class MediaCache {
  private readonly entries = new Map<string, CachedMedia>(); // key `${kind}/${name}`
  private loaded: Promise<void> | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  private flushTimer: NodeJS.Timeout | null = null;
  private readonly now: () => number;

  constructor(private readonly opts: MediaCacheOptions) {
    this.now = opts.now ?? Date.now;
  }

  get dir(): string {
    return this.opts.dir;
  }

  get instance(): string {
    return this.opts.instance;
  }

  /** The folder of one kind (serving checks real paths against it). */
  folder(kind: MediaKind): string {
    return join(this.opts.dir, FOLDER[kind]);
  }

  /** Stores bytes (or a stream of them) under a fresh name, then evicts down to the cap. */
  async put(kind: MediaKind, data: Uint8Array | AsyncIterable<Uint8Array>, meta: PutMeta): Promise<CachedMedia> {
    await this.load();
    const folder = this.folder(kind);
    const tmp = join(folder, `.tmp-${randomBytes(8).toString("hex")}`);
    const out = createWriteStream(tmp, { flags: "wx", mode: 0o600 });
    out.on("error", () => undefined); // errors surface through the write/end callbacks below
    const opened = new Promise<void>((resolve, reject) => {
      out.once("open", () => resolve());
      out.once("error", reject);
    });
    let size = 0;
    let head = new Uint8Array(0);
    try {
      await opened;
      for await (const chunk of chunksOf(data)) {
        size += chunk.byteLength;
        if (meta.maxBytes !== undefined && size > meta.maxBytes) throw new MediaTooLargeError(meta.maxBytes);
        if (head.length < 64) head = Buffer.concat([head, chunk.subarray(0, 64 - head.length)]);
        await writeChunk(out, chunk);
      }
      await endStream(out);
    } catch (err) {
      out.destroy();
      await rm(tmp, { force: true });
      throw err;
    }
    const mime = sniffMediaType(head, kind) ?? safeDeclared(meta.mime, kind);
    const name = newName(extensionFor(mime));
    await rename(tmp, join(folder, name));
    const t = this.now();
    const entry: CachedMedia = { name, kind, mime, size, createdAt: t, lastAccessAt: t, prompt: meta.prompt ?? null, instance: this.opts.instance };
    await this.locked(async () => {
      this.entries.set(`${kind}/${name}`, entry);
      await this.evict(kind, name);
      await this.saveIndex();
    });
    this.opts.log?.debug("cached media", { kind, name, size, mime });
    return { ...entry };
  }

  /** The file of a cached name, or null for any name put() did not make or whose file is gone. */
  async get(kind: MediaKind, name: string): Promise<{ path: string; meta: CachedMedia } | null> {
    if (!MEDIA_KINDS.includes(kind) || !isCacheName(name)) return null;
    await this.load();
    const key = `${kind}/${name}`;
    const entry = this.entries.get(key) ?? (await this.adopt(kind, name));
    if (!entry) return null;
    const path = join(this.folder(kind), name);
    const st = await lstat(path).catch(() => null);
    if (!st || !st.isFile()) {
      // Deleted or replaced behind our back (a symlink is never served).
      await this.locked(async () => {
        this.entries.delete(key);
        await this.saveIndex();
      });
      return null;
    }
    entry.lastAccessAt = Math.max(entry.lastAccessAt, this.now());
    this.scheduleFlush();
    return { path, meta: { ...entry } };
  }

  /** Entries, newest first. */
  async list(kind?: MediaKind): Promise<CachedMedia[]> {
    await this.load();
    return [...this.entries.values()].filter((e) => !kind || e.kind === kind).sort((a, b) => b.createdAt - a.createdAt || a.name.localeCompare(b.name)).map((e) => ({ ...e }));
  }

  async size(): Promise<Record<MediaKind, { bytes: number; count: number }>> {
    await this.load();
    const out: Record<MediaKind, { bytes: number; count: number }> = { image: { bytes: 0, count: 0 }, video: { bytes: 0, count: 0 } };
    for (const e of this.entries.values()) {
      out[e.kind].bytes += e.size;
      out[e.kind].count += 1;
    }
    return out;
  }

  /** Deletes every file of a kind (or of both); resolves to how many were removed. */
  async clear(kind?: MediaKind): Promise<number> {
    await this.load();
    return this.locked(async () => {
      let n = 0;
      for (const [key, e] of [...this.entries]) {
        if (kind && e.kind !== kind) continue;
        await unlink(join(this.folder(e.kind), e.name)).catch(() => undefined);
        this.entries.delete(key);
        n++;
      }
      for (const k of kind ? [kind] : MEDIA_KINDS) {
        // Files of another process sharing the folder, and leftovers of crashed puts, too.
        for (const name of await readdir(this.folder(k)).catch(() => [] as string[])) {
          if (!isCacheName(name)) continue;
          const st = await lstat(join(this.folder(k), name)).catch(() => null);
          if (!st?.isFile()) continue;
          await unlink(join(this.folder(k), name)).catch(() => undefined);
          n++;
        }
        await this.removeTemps(k);
      }
      await this.saveIndex();
      return n;
    });
  }

  async remove(kind: MediaKind, name: string): Promise<boolean> {
    if (!MEDIA_KINDS.includes(kind) || !isCacheName(name)) return false;
    await this.load();
    return this.locked(async () => {
      const key = `${kind}/${name}`;
      if (!this.entries.has(key)) return false;
      await unlink(join(this.folder(kind), name)).catch(() => undefined);
      this.entries.delete(key);
      await this.saveIndex();
      return true;
    });
  }

  /** Writes pending access times (call on shutdown). */
  async flush(): Promise<void> {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    if (!this.loaded) return;
    await this.load();
    await this.locked(() => this.saveIndex());
  }

  // ── internals ──────────────────────────────────────────────────────────────

  /** Oldest-used first, never the entry just put; stops once the kind fits its cap. */
  private async evict(kind: MediaKind, keep: string): Promise<void> {
    const cap = this.opts.maxBytes()[kind];
    const mine = [...this.entries.values()].filter((e) => e.kind === kind);
    let total = mine.reduce((s, e) => s + e.size, 0);
    if (total <= cap) return;
    const victims = mine.filter((e) => e.name !== keep).sort((a, b) => a.lastAccessAt - b.lastAccessAt || a.createdAt - b.createdAt);
    for (const v of victims) {
      if (total <= cap) break;
      await unlink(join(this.folder(kind), v.name)).catch(() => undefined);
      this.entries.delete(`${kind}/${v.name}`);
      total -= v.size;
      this.opts.log?.debug("evicted media", { kind, name: v.name, size: v.size });
    }
    if (total > cap) this.opts.log?.warn("media cache over its cap with one file", { kind, bytes: total, cap });
  }

  private scheduleFlush(): void {
    if (this.flushTimer) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = null;
      void this.locked(() => this.saveIndex()).catch((err) => this.opts.log?.warn("media index write failed", { error: String(err) }));
    }, ACCESS_FLUSH_MS);
    this.flushTimer.unref();
  }

  /** One mutation at a time (index writes and deletions), in call order. */
  private locked<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private load(): Promise<void> {
    this.loaded ??= this.doLoad();
    return this.loaded;
  }

  /** Reads the index, then reconciles it with the folders: gone files dropped, unknown files adopted. */
  private async doLoad(): Promise<void> {
    for (const k of MEDIA_KINDS) await mkdir(this.folder(k), { recursive: true });
    const saved: unknown[] = await this.readIndex(); // missing or damaged: rebuilt from the folders below
    const known = new Map<string, CachedMedia>();
    for (const raw of saved) {
      const e = raw as Partial<CachedMedia>;
      if (!e || typeof e.name !== "string" || !isCacheName(e.name) || !MEDIA_KINDS.includes(e.kind as MediaKind)) continue;
      known.set(`${e.kind}/${e.name}`, e as CachedMedia);
    }
    for (const kind of MEDIA_KINDS) {
      await this.removeTemps(kind);
      for (const name of await readdir(this.folder(kind)).catch(() => [] as string[])) {
        if (!isCacheName(name)) continue;
        const st = await lstat(join(this.folder(kind), name)).catch(() => null);
        if (!st?.isFile()) continue;
        const prev = known.get(`${kind}/${name}`);
        const ext = name.slice(name.lastIndexOf(".") + 1);
        this.entries.set(`${kind}/${name}`, {
          name,
          kind,
          mime: typeof prev?.mime === "string" ? prev.mime : mimeForExtension(ext, kind),
          size: st.size,
          createdAt: typeof prev?.createdAt === "number" ? prev.createdAt : Math.round(st.mtimeMs),
          lastAccessAt: typeof prev?.lastAccessAt === "number" ? prev.lastAccessAt : Math.round(st.mtimeMs),
          prompt: typeof prev?.prompt === "string" ? prev.prompt : null,
          instance: typeof prev?.instance === "string" ? prev.instance : this.opts.instance,
        });
      }
    }
  }

  private async removeTemps(kind: MediaKind): Promise<void> {
    for (const name of await readdir(this.folder(kind)).catch(() => [] as string[])) {
      if (name.startsWith(".tmp-")) await rm(join(this.folder(kind), name), { force: true });
    }
  }

  /** The saved index entries (another process's included), or [] when unreadable. */
  private async readIndex(): Promise<Partial<CachedMedia>[]> {
    try {
      const parsed = JSON.parse(await readFile(join(this.opts.dir, INDEX), "utf8")) as { entries?: unknown };
      return Array.isArray(parsed.entries) ? (parsed.entries as Partial<CachedMedia>[]) : [];
    } catch {
      return [];
    }
  }

  /** A file another process sharing this folder made: known from the index, else from its stat. */
  private async adopt(kind: MediaKind, name: string): Promise<CachedMedia | null> {
    const st = await lstat(join(this.folder(kind), name)).catch(() => null);
    if (!st?.isFile()) return null;
    const prev = (await this.readIndex()).find((e) => e?.kind === kind && e.name === name);
    const entry: CachedMedia = {
      name,
      kind,
      mime: typeof prev?.mime === "string" ? prev.mime : mimeForExtension(name.slice(name.lastIndexOf(".") + 1), kind),
      size: st.size,
      createdAt: typeof prev?.createdAt === "number" ? prev.createdAt : Math.round(st.mtimeMs),
      lastAccessAt: typeof prev?.lastAccessAt === "number" ? prev.lastAccessAt : Math.round(st.mtimeMs),
      prompt: typeof prev?.prompt === "string" ? prev.prompt : null,
      instance: typeof prev?.instance === "string" ? prev.instance : this.opts.instance,
    };
    this.entries.set(`${kind}/${name}`, entry);
    return entry;
  }

  private async saveIndex(): Promise<void> {
    // Entries another process added since we loaded, whose files still exist, are kept (and adopted).
    for (const e of await this.readIndex()) {
      if (!e || typeof e.name !== "string" || !isCacheName(e.name) || !MEDIA_KINDS.includes(e.kind as MediaKind)) continue;
      if (this.entries.has(`${e.kind}/${e.name}`)) continue;
      const st = await lstat(join(this.folder(e.kind as MediaKind), e.name)).catch(() => null);
      if (st?.isFile()) this.entries.set(`${e.kind}/${e.name}`, { ...(e as CachedMedia), size: st.size });
    }
    const path = join(this.opts.dir, INDEX);
    const tmp = `${path}.${randomBytes(4).toString("hex")}.tmp`;
    await writeFile(tmp, JSON.stringify({ version: 1, instance: this.opts.instance, entries: [...this.entries.values()] }), { mode: 0o600 });
    await rename(tmp, path);
  }
}

/** A declared type is kept only when it is one this kind may be served as. */
function safeDeclared(mime: string, kind: MediaKind): string {
  const m = mime.split(";")[0]!.trim().toLowerCase();
  const ext = extensionFor(m);
  return ext !== "bin" && m.startsWith(kind === "image" ? "image/" : "video/") ? m : "application/octet-stream";
}
