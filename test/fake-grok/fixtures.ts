import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ANY_UUID_RE, uuid } from "./util.js";

/** A JSON frame of a fixture; scripts clone and edit these. */
export type Frame = Record<string, any>;

export const FIXTURE_DIR = fileURLToPath(new URL("./fixtures/", import.meta.url));
/** The user id every fixture was recorded with; replaced by the serving account's id. */
export const FIXTURE_USER_ID = "7b12c714-3b1d-47a5-98d2-c0770638fce9";

export interface RestFixture {
  frames: Frame[];
  /** How the capture was framed ("sse" when its lines carry a `data: ` prefix). */
  framing: "ndjson" | "sse";
}

export interface GatewayFixture {
  client: Frame[];
  server: Frame[];
}

const cache = new Map<string, unknown>();

export function fixtureText(name: string): string {
  return readFileSync(FIXTURE_DIR + name, "utf8");
}

export function fixtureBytes(name: string): Buffer {
  const key = `bin:${name}`;
  let v = cache.get(key) as Buffer | undefined;
  if (!v) {
    v = readFileSync(FIXTURE_DIR + name);
    cache.set(key, v);
  }
  return v;
}

/** Parses a recorded REST stream: one object per line, optional `data: ` prefix, `[DONE]` ignored. */
export function loadRest(name: string): RestFixture {
  const key = `rest:${name}`;
  const hit = cache.get(key) as RestFixture | undefined;
  if (hit) return hit;
  let framing: RestFixture["framing"] = "ndjson";
  const frames: Frame[] = [];
  for (const raw of fixtureText(name).split("\n")) {
    let line = raw.trim();
    if (!line) continue;
    if (line.startsWith("data:")) {
      framing = "sse";
      line = line.slice(5).trim();
      if (line === "[DONE]") continue;
    }
    frames.push(JSON.parse(line) as Frame);
  }
  const fx = { frames, framing };
  cache.set(key, fx);
  return fx;
}

/** Parses a gateway transcript: lines {"dir":"client"|"server","frame":{…}}. */
export function loadGateway(name: string): GatewayFixture {
  const key = `gw:${name}`;
  const hit = cache.get(key) as GatewayFixture | undefined;
  if (hit) return hit;
  const fx: GatewayFixture = { client: [], server: [] };
  for (const raw of fixtureText(name).split("\n")) {
    if (!raw.trim()) continue;
    const line = JSON.parse(raw) as { dir: "client" | "server"; frame: Frame };
    fx[line.dir].push(line.frame);
  }
  cache.set(key, fx);
  return fx;
}

/**
 * Deep-copies fixture frames replacing every UUID: ids in `ids` map to their live value,
 * any other UUID gets a fresh UUIDv4 (stable within one call, recorded into `ids`).
 */
export function instantiate<T>(frames: T, ids: Map<string, string>): T {
  const text = JSON.stringify(frames).replace(ANY_UUID_RE, (m) => {
    let v = ids.get(m);
    if (!v) {
      v = uuid();
      ids.set(m, v);
    }
    return v;
  });
  return JSON.parse(text) as T;
}

export function clone<T>(v: T): T {
  return structuredClone(v);
}

/** First frame matching pred, deep-copied; throws when a fixture lacks an expected frame. */
export function pick(frames: Frame[], pred: (f: Frame) => boolean, what: string): Frame {
  const f = frames.find(pred);
  if (!f) throw new Error(`fixture has no ${what} frame`);
  return clone(f);
}

/** Relative asset paths (users/<uid>/generated/<id>/<file>) mentioned anywhere in the frames. */
export function assetPathsIn(frames: unknown): string[] {
  const text = JSON.stringify(frames);
  const out = new Set<string>();
  for (const m of text.matchAll(/users\/[0-9a-f-]{36}\/generated\/[0-9a-f-]{36}(?:-part-\d+)?\/[A-Za-z0-9_.-]+/g)) out.add(m[0]);
  return [...out];
}
