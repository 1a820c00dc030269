import type { Tier } from "../core/account.js";
import { badRequest } from "../errors.js";
import type { VideoMode, VideoResolution, VideoSpec } from "../grok/video.js";

/**
 * Video request options, validated once for chat and the Videos API (grok-protocol.md §8.1,
 * §8.3, §8.6, §14.7): the `--mode` flag in the prompt, aspect ratio, duration, resolution, and
 * the fit to the pool's tiers. Basic (free) accounts get a 429 from grok.com for anything over
 * 6 seconds and cannot make 480p, so such a request is served by a paid account when the pool has
 * one, and otherwise clamped to what a Basic account can make (said in the answer) — never sent
 * to be refused, burning attempts.
 */

export const VIDEO_MODES: readonly VideoMode[] = ["normal", "custom", "extremely-crazy", "extremely-spicy-or-crazy"];
const MODE_ALIASES: Record<string, VideoMode> = { fun: "extremely-crazy", crazy: "extremely-crazy", spicy: "extremely-spicy-or-crazy" };
export const VIDEO_ASPECT_RATIOS = ["16:9", "9:16", "1:1", "2:3", "3:2", "4:3", "3:4"] as const;
export const MIN_SECONDS = 1;
/** [2026-08] single-request limit. */
export const MAX_SECONDS = 15;
/** Free accounts: grok.com answers 429 above this. */
export const BASIC_MAX_SECONDS = 6;
export const DEFAULT_SECONDS = 6;
export const MAX_PROMPT_CHARS = 4000;

/** The prompt without its `--mode=<word>` / `--mode <word>` flag, and the mode (default custom). */
export function parseModeFlag(text: string, param: string): { prompt: string; mode: VideoMode } {
  const re = /(^|\s)--mode(?:=|\s+)(\S+)/gi;
  let mode: VideoMode = "custom";
  let found = 0;
  const prompt = text.replace(re, (_all, lead: string, word: string) => {
    found++;
    const w = word.toLowerCase();
    const m = (VIDEO_MODES as readonly string[]).includes(w) ? (w as VideoMode) : MODE_ALIASES[w];
    if (!m) throw badRequest(`unknown --mode '${word.slice(0, 40)}'; use one of ${VIDEO_MODES.join(", ")} (or fun, spicy)`, param);
    mode = m;
    return lead;
  });
  if (found > 1) throw badRequest("give --mode once", param);
  return { prompt: prompt.replace(/\s+/g, " ").trim(), mode };
}

export function parseSeconds(v: unknown, param: string): number | null {
  if (v === undefined || v === null || v === "") return null;
  const n = typeof v === "number" ? v : typeof v === "string" && /^\s*\d+(\.0+)?\s*s?\s*$/i.test(v) ? Number.parseFloat(v) : NaN;
  if (!Number.isInteger(n)) throw badRequest(`${param} must be a whole number of seconds (${MIN_SECONDS}-${MAX_SECONDS})`, param);
  if (n < MIN_SECONDS || n > MAX_SECONDS) throw badRequest(`${param} ${n} is out of range: grok.com makes ${MIN_SECONDS} to ${MAX_SECONDS} seconds per video`, param);
  return n;
}

export function parseAspectRatio(v: unknown, param: string): string | null {
  if (v === undefined || v === null || v === "") return null;
  if (typeof v !== "string" || !(VIDEO_ASPECT_RATIOS as readonly string[]).includes(v.trim())) throw badRequest(`${param} must be one of ${VIDEO_ASPECT_RATIOS.join(", ")}`, param);
  return v.trim();
}

export function parseResolution(v: unknown, param: string): VideoResolution | null {
  if (v === undefined || v === null || v === "") return null;
  const s = typeof v === "string" ? v.trim().toLowerCase().replace(/p$/, "") : typeof v === "number" ? String(v) : "";
  if (s === "480" || s === "720") return `${s}p` as VideoResolution;
  throw badRequest(`${param} must be 480p or 720p`, param);
}

/** `WxH` (the Videos API's `size`) → the nearest supported aspect ratio and a resolution. */
export function parseSize(v: unknown, param: string): { aspectRatio: string; resolution: VideoResolution } | null {
  if (v === undefined || v === null || v === "") return null;
  const m = typeof v === "string" ? /^\s*(\d{2,5})\s*[x×]\s*(\d{2,5})\s*$/i.exec(v) : null;
  if (!m) throw badRequest(`${param} must be WIDTHxHEIGHT, e.g. 1280x720`, param);
  const w = Number(m[1]);
  const h = Number(m[2]);
  const ratio = w / h;
  let best: string = VIDEO_ASPECT_RATIOS[0];
  for (const r of VIDEO_ASPECT_RATIOS) {
    const [a, b] = r.split(":").map(Number) as [number, number];
    const [ba, bb] = best.split(":").map(Number) as [number, number];
    if (Math.abs(Math.log(ratio / (a / b))) < Math.abs(Math.log(ratio / (ba / bb)))) best = r;
  }
  return { aspectRatio: best, resolution: Math.min(w, h) <= 480 ? "480p" : "720p" };
}

/** The frame size grok.com makes for a ratio and resolution (short side 720 or 480, even numbers). */
export function frameSize(aspectRatio: string, resolution: VideoResolution): string {
  const [a, b] = aspectRatio.split(":").map(Number) as [number, number];
  const short = resolution === "480p" ? 480 : 720;
  const even = (x: number) => Math.round(x / 2) * 2;
  return a >= b ? `${even((short * a) / b)}x${short}` : `${short}x${even((short * b) / a)}`;
}

export interface VideoAsk {
  prompt: string;
  mode: VideoMode;
  aspectRatio: string;
  seconds: number;
  resolution: VideoResolution;
}

export interface FittedVideo {
  spec: VideoSpec;
  minTier: Tier;
  /** Quota bucket: `video_720p`, or `video` for 480p. */
  bucket: "video" | "video_720p";
  /** What was changed to fit the pool, in words for the answer. */
  notes: string[];
}

/** Fits a request to the pool: a paid account when it needs one and the pool has one, else clamped to Basic's limits. */
export function fitToTiers(ask: VideoAsk, tiers: Record<Tier, number>): FittedVideo {
  const paid = (tiers.super ?? 0) + (tiers.heavy ?? 0) > 0;
  let { seconds, resolution } = ask;
  const notes: string[] = [];
  const needsPaid = seconds > BASIC_MAX_SECONDS || resolution === "480p";
  if (needsPaid && !paid) {
    if (seconds > BASIC_MAX_SECONDS) {
      notes.push(`duration clamped from ${seconds} s to ${BASIC_MAX_SECONDS} s: only Basic grok.com accounts are configured, and grok.com refuses them videos longer than ${BASIC_MAX_SECONDS} s`);
      seconds = BASIC_MAX_SECONDS;
    }
    if (resolution === "480p") {
      notes.push("made at 720p: 480p needs a paid (SuperGrok) account and only Basic accounts are configured");
      resolution = "720p";
    }
  }
  const minTier: Tier = needsPaid && paid ? "super" : "basic";
  return { spec: { prompt: ask.prompt, mode: ask.mode, aspectRatio: ask.aspectRatio, seconds, resolution }, minTier, bucket: resolution === "480p" ? "video" : "video_720p", notes };
}

/** Prompt checks shared by chat and the Videos API. */
export function checkPrompt(prompt: string, param: string, hasImages: boolean): void {
  if (!prompt && !hasImages) throw badRequest("the video prompt is empty: describe the video (or give an image to animate)", param);
  if ([...prompt].length > MAX_PROMPT_CHARS) throw badRequest(`the video prompt is longer than ${MAX_PROMPT_CHARS} characters`, param);
}
