import { randomBytes } from "node:crypto";
import { ProxyError, toProxyError } from "../errors.js";
import type { VideoResolution } from "../grok/video.js";
import type { Logger } from "../log.js";
import type { Pipeline, UpstreamJob } from "../runner/pipeline.js";
import type { Store } from "../store/types.js";
import type { UploadFile } from "./fetch-image.js";
import { VIDEO_MODERATED_MESSAGE, type VideoCallDeps, type VideoResult, videoCall, videoDeadlineMs } from "./video-call.js";
import { type FittedVideo, frameSize } from "./video-spec.js";

/**
 * The Videos API's jobs (api-conformance.md §3.4): each `POST /v1/videos` becomes a record in
 * the Store's key/value space (file, MySQL or Redis: every instance sharing the store can poll
 * it) and a background pipeline run on this instance. The record carries status, progress,
 * the cached MP4 (and thumbnail) names, the error, and a heartbeat of the instance running it.
 *
 * Restart: grok.com's video generation is one streaming response with no documented way to
 * re-attach to it, so a job cannot be resumed. A job this instance was running when it stopped
 * is reported `failed` with error code `interrupted` and a reason: at a clean stop at once, after
 * a crash when the instance starts again (its unfinished jobs are swept), and by any instance
 * once the running instance's heartbeat is older than STALE_MS.
 */

export type VideoStatus = "queued" | "in_progress" | "completed" | "failed";

export interface VideoJobRecord {
  id: string;
  model: string;
  prompt: string;
  status: VideoStatus;
  progress: number;
  created_at: number;
  completed_at: number | null;
  expires_at: number | null;
  /** The reported size (one of the API's sizes) and what grok.com makes. */
  size: string;
  seconds: string;
  aspect_ratio: string;
  resolution: VideoResolution;
  notes: string[];
  error: { code: string; message: string } | null;
  instance: string;
  heartbeat_at: number;
  /** Media cache names (this instance's cache). */
  video: string | null;
  thumbnail: string | null;
}

export const JOB_TTL_MS = 7 * 24 * 3_600_000;
export const HEARTBEAT_MS = 20_000;
export const STALE_MS = 3 * 60_000;
export const MAX_RUNNING = 4;
export const MAX_LISTED = 1000;
const KEY = (id: string) => `videos:job:${id}`;
const INDEX = "videos:index";
export const VIDEO_ID_RE = /^video_[0-9a-f]{32}$/;

/** The API's sizes: what is reported for the ratio made (the spec enumerates only these four). */
export function apiSize(aspectRatio: string, requested: string | null): string {
  const [a, b] = aspectRatio.split(":").map(Number) as [number, number];
  const landscape = a > b;
  if (requested && ["720x1280", "1280x720", "1024x1792", "1792x1024"].includes(requested)) {
    const [w, h] = requested.split("x").map(Number) as [number, number];
    if (w > h === landscape && a !== b) return requested;
  }
  return landscape ? "1280x720" : "720x1280";
}

export interface VideoJobsDeps {
  store: Pick<Store, "kvGet" | "kvSet" | "kvDelete">;
  pipeline: Pipeline;
  call: VideoCallDeps;
  instance: string;
  log: Logger;
  now?: () => number;
}

export interface NewVideoJob {
  model: string;
  fitted: FittedVideo;
  /** The size the client asked for (null: none). */
  requestedSize: string | null;
  images: UploadFile[];
}

export class VideoJobs {
  private readonly running = new Map<string, { ctrl: AbortController; done: Promise<void>; rec: VideoJobRecord }>();
  private readonly waiting: Array<() => void> = [];
  private active = 0;
  private indexChain: Promise<unknown> = Promise.resolve();
  private heartbeat: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly now: () => number;

  constructor(private readonly deps: VideoJobsDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** The upstream-call dependencies (shared with chat, so auto mode's memory is one per server). */
  get callDeps(): VideoCallDeps {
    return this.deps.call;
  }

  /** Which instance runs this process's jobs (the media cache holding their files). */
  get instance(): string {
    return this.deps.instance;
  }

  /** Sweeps this instance's unfinished jobs (left by a crash) and starts the heartbeat. */
  async init(): Promise<void> {
    for (const id of await this.ids()) {
      const r = await this.load(id);
      if (r && unfinished(r) && r.instance === this.deps.instance) await this.interrupt(r, "the server restarted while grok.com was generating this video");
    }
    this.heartbeat = setInterval(() => void this.beat(), HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  /** Stores a queued job and starts it in the background. */
  async create(job: NewVideoJob): Promise<VideoJobRecord> {
    if (this.closed) throw new ProxyError(503, "server_busy", "The server is shutting down", { retryAfterMs: 5_000 });
    const t = this.now();
    const s = job.fitted.spec;
    const rec: VideoJobRecord = {
      id: `video_${randomBytes(16).toString("hex")}`,
      model: job.model,
      prompt: s.prompt,
      status: "queued",
      progress: 0,
      created_at: Math.floor(t / 1000),
      completed_at: null,
      expires_at: null,
      size: apiSize(s.aspectRatio, job.requestedSize),
      seconds: String(s.seconds),
      aspect_ratio: s.aspectRatio,
      resolution: s.resolution,
      notes: job.fitted.notes,
      error: null,
      instance: this.deps.instance,
      heartbeat_at: t,
      video: null,
      thumbnail: null,
    };
    await this.save(rec);
    await this.addToIndex(rec.id);
    const ctrl = new AbortController();
    const done = this.run(rec, job, ctrl).finally(() => this.running.delete(rec.id));
    this.running.set(rec.id, { ctrl, done, rec });
    return rec;
  }

  /** A job, or null. A job whose running instance stopped beating is reported failed (and stored so). */
  async get(id: string): Promise<VideoJobRecord | null> {
    if (!VIDEO_ID_RE.test(id)) return null;
    const r = await this.load(id);
    if (!r) return null;
    if (unfinished(r) && !this.running.has(id) && (r.instance === this.deps.instance || this.now() - r.heartbeat_at > STALE_MS)) {
      return this.interrupt(r, r.instance === this.deps.instance ? "the server restarted while grok.com was generating this video" : `the instance running it (${r.instance}) stopped answering`);
    }
    return r;
  }

  /** Newest first (`order: desc`, the API's default) or oldest first; `after` is a job id. */
  async list(opts: { limit: number; order: "asc" | "desc"; after: string | null }): Promise<{ data: VideoJobRecord[]; has_more: boolean }> {
    let ids = await this.ids(); // oldest first
    if (opts.order === "desc") ids = ids.reverse();
    if (opts.after) {
      const i = ids.indexOf(opts.after);
      ids = i >= 0 ? ids.slice(i + 1) : [];
    }
    const data: VideoJobRecord[] = [];
    let more = false;
    for (const id of ids) {
      const r = await this.get(id);
      if (!r) continue;
      if (data.length === opts.limit) {
        more = true;
        break;
      }
      data.push(r);
    }
    return { data, has_more: more };
  }

  /** Deletes the record and its cached files; a running job is cancelled first. */
  async delete(id: string): Promise<boolean> {
    const r = await this.get(id);
    if (!r) return false;
    const run = this.running.get(id);
    if (run) {
      run.ctrl.abort(new Error("deleted"));
      await run.done.catch(() => undefined);
    }
    const cache = this.deps.call.cache();
    const latest = (await this.load(id)) ?? r;
    if (latest.video) await cache.remove("video", latest.video).catch(() => false);
    if (latest.thumbnail) await cache.remove("image", latest.thumbnail).catch(() => false);
    await this.deps.store.kvDelete(KEY(id));
    await this.removeFromIndex(id);
    return true;
  }

  /** Cancels the running jobs (recorded as interrupted) and waits for them. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    for (const wake of this.waiting.splice(0)) wake();
    const runs = [...this.running.values()];
    for (const r of runs) r.ctrl.abort(new Error("server stopping"));
    await Promise.all(runs.map((r) => r.done.catch(() => undefined)));
  }

  // ── internals ──────────────────────────────────────────────────────────────

  private async run(rec: VideoJobRecord, job: NewVideoJob, ctrl: AbortController): Promise<void> {
    const log = this.deps.log;
    if (!(await this.slot(ctrl.signal))) return this.interrupt(rec, "the server was stopped before the job started").then(() => undefined);
    try {
      const holder: { result: VideoResult | null } = { result: null };
      const fitted = job.fitted;
      const upstream: UpstreamJob = {
        need: { bucket: fitted.bucket, cost: 1, minTier: fitted.minTier, label: job.model },
        call: videoCall(this.deps.call, fitted.spec, job.images, holder),
        requestId: rec.id,
        signal: ctrl.signal,
        totalTimeoutMs: videoDeadlineMs(this.deps.call.settings()),
      };
      let lastSaved = 0;
      for await (const e of this.deps.pipeline.run(upstream)) {
        if (e.type === "video") {
          const progress = holder.result ? 99 : Math.max(rec.progress, Math.min(99, Math.round(e.progress)));
          if (rec.status !== "in_progress" || progress !== rec.progress) {
            rec.status = "in_progress";
            rec.progress = progress;
            if (this.now() - lastSaved > 250 || progress >= 95) {
              lastSaved = this.now();
              await this.save(rec);
            }
          }
          continue;
        }
        if (e.type === "error") throw failureError(e.error.kind, e.error.message);
        if (e.type === "done") break;
      }
      if (ctrl.signal.aborted) {
        if (!this.closed) return; // deleted
        await this.interrupt(rec, "the server was stopped while grok.com was generating this video");
        return;
      }
      if (!holder.result) throw new ProxyError(502, "upstream_error", "grok.com finished without a video");
      rec.status = "completed";
      rec.progress = 100;
      rec.completed_at = Math.floor(this.now() / 1000);
      rec.expires_at = Math.floor((this.now() + JOB_TTL_MS) / 1000);
      rec.video = holder.result.video.name;
      rec.thumbnail = holder.result.thumbnail?.name ?? null;
      await this.save(rec);
      log.info("video job completed", { id: rec.id, video: rec.video, bytes: holder.result.video.size });
    } catch (raw) {
      if (ctrl.signal.aborted) {
        if (this.closed) await this.interrupt(rec, "the server was stopped while grok.com was generating this video").catch(() => undefined);
        return;
      }
      const err = toProxyError(raw);
      rec.status = "failed";
      rec.error = { code: errorCode(err), message: err.expose ? err.message : "Internal error" };
      rec.completed_at = Math.floor(this.now() / 1000);
      await this.save(rec).catch((e) => log.error("video job state not stored", { id: rec.id, message: (e as Error).message }));
      log.warn("video job failed", { id: rec.id, code: rec.error.code, message: err.message });
    } finally {
      this.release();
    }
  }

  private async slot(signal: AbortSignal): Promise<boolean> {
    while (this.active >= MAX_RUNNING) {
      if (signal.aborted || this.closed) return false;
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    if (signal.aborted || this.closed) return false;
    this.active++;
    return true;
  }

  private release(): void {
    this.active--;
    this.waiting.shift()?.();
  }

  private async interrupt(r: VideoJobRecord, why: string): Promise<VideoJobRecord> {
    const rec: VideoJobRecord = {
      ...r,
      status: "failed",
      completed_at: Math.floor(this.now() / 1000),
      error: { code: "interrupted", message: `Interrupted: ${why}. grok.com's generation cannot be resumed from here (its progress stream ended with the connection); create the video again.` },
    };
    await this.save(rec);
    return rec;
  }

  /** Heartbeat of the running jobs, so other instances can tell a live job from an orphan. */
  private async beat(): Promise<void> {
    // The live record of each run (never a re-read copy: that could write back older progress).
    for (const { rec } of this.running.values()) if (unfinished(rec)) await this.save(rec).catch(() => undefined);
  }

  private async save(r: VideoJobRecord): Promise<void> {
    r.heartbeat_at = this.now();
    await this.deps.store.kvSet(KEY(r.id), JSON.stringify(r), JOB_TTL_MS);
  }

  private async load(id: string): Promise<VideoJobRecord | null> {
    const raw = await this.deps.store.kvGet(KEY(id));
    if (!raw) return null;
    try {
      const r = JSON.parse(raw) as VideoJobRecord;
      return r && typeof r === "object" && r.id === id ? r : null;
    } catch {
      this.deps.log.warn("video job record unreadable", { id });
      return null;
    }
  }

  private async ids(): Promise<string[]> {
    const raw = await this.deps.store.kvGet(INDEX);
    try {
      const list = raw ? (JSON.parse(raw) as unknown) : [];
      return Array.isArray(list) ? list.filter((x): x is string => typeof x === "string" && VIDEO_ID_RE.test(x)) : [];
    } catch {
      return [];
    }
  }

  /** The index is one JSON list (the Store has no key listing): changed one at a time, capped, expired ids dropped. */
  private editIndex(edit: (ids: string[]) => Promise<string[]> | string[]): Promise<void> {
    const run = this.indexChain.then(async () => {
      const next = await edit(await this.ids());
      await this.deps.store.kvSet(INDEX, JSON.stringify(next.slice(-MAX_LISTED)));
    });
    this.indexChain = run.catch(() => undefined);
    return run;
  }

  private addToIndex(id: string): Promise<void> {
    return this.editIndex(async (ids) => {
      const kept: string[] = [];
      for (const x of ids) if (x !== id && (ids.length < MAX_LISTED / 2 || (await this.deps.store.kvGet(KEY(x))) !== null)) kept.push(x);
      return [...kept, id];
    });
  }

  private removeFromIndex(id: string): Promise<void> {
    return this.editIndex((ids) => ids.filter((x) => x !== id));
  }
}

const unfinished = (r: VideoJobRecord) => r.status === "queued" || r.status === "in_progress";

/** A pipeline in-band failure as an error with the code the job reports. */
function failureError(kind: string, message: string): ProxyError {
  if (kind === "request" && /moderation/i.test(message)) return new ProxyError(403, "content_moderated", message.startsWith("rejected by content moderation") ? message : `${VIDEO_MODERATED_MESSAGE}: ${message}`);
  if (kind === "rate_limited") return new ProxyError(429, "rate_limited", `grok.com rate-limited the video job: ${message}`);
  if (kind === "timeout") return new ProxyError(504, "upstream_timeout", message);
  return new ProxyError(502, "upstream_error", message);
}

function errorCode(err: ProxyError): string {
  if (err.code === "content_moderated" || /moderation/i.test(err.message)) return "moderation_blocked";
  return err.code;
}

export function videoResource(r: VideoJobRecord): Record<string, unknown> {
  return {
    id: r.id,
    object: "video",
    model: r.model,
    status: r.status,
    progress: r.progress,
    created_at: r.created_at,
    completed_at: r.completed_at,
    expires_at: r.expires_at,
    prompt: r.prompt || null,
    size: r.size,
    seconds: r.seconds,
    remixed_from_video_id: null,
    error: r.error,
    // What grok.com made, beyond the API's four sizes; and what was changed to fit the pool.
    x_grok: { aspect_ratio: r.aspect_ratio, resolution: r.resolution, frame_size: frameSize(r.aspect_ratio, r.resolution), notes: r.notes },
  };
}
