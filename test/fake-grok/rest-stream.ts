/** Writes a RestPlan to an HTTP response: framing variants, delays, stalls, drops and UTF-8 splits. */
import type { ServerResponse } from "node:http";
import type { Core } from "./core.js";
import type { Frame } from "./fixtures.js";
import type { RestPlan } from "./rest-scripts.js";
import type { Framing, RecordedRequest } from "./types.js";

/** Bytes of frame i under a framing (the concatenated variant puts three objects on one line). */
export function encodeFrame(frame: Frame, i: number, count: number, framing: Framing): string {
  const json = JSON.stringify(frame);
  switch (framing) {
    case "sse":
      return `data: ${json}\n\n`;
    case "sse-events":
      return `event: message\ndata: ${json}\n\n`;
    case "concatenated":
      return json + ((i + 1) % 3 === 0 || i === count - 1 ? "\n" : "");
    default:
      return json + "\n";
  }
}

export function terminator(framing: Framing): string {
  if (framing === "sse") return "data: [DONE]\n\n";
  if (framing === "sse-events") return "event: done\ndata: [DONE]\n\n";
  return "";
}

export function encodePlan(frames: Frame[], framing: Framing): string {
  return frames.map((f, i) => encodeFrame(f, i, frames.length, framing)).join("") + terminator(framing);
}

/**
 * Cut points for the split-utf8 scenario: steps of 13..157 bytes, each pushed forward onto the next
 * UTF-8 continuation byte when one is near, so most cuts fall inside a multi-byte character.
 */
export function splitOffsets(buf: Buffer): number[] {
  const cuts: number[] = [];
  let pos = 0;
  let step = 13;
  while (true) {
    let p = pos + step;
    if (p >= buf.length) break;
    for (let k = 0; k < 6 && p + k < buf.length; k++) {
      if ((buf[p + k]! & 0xc0) === 0x80) {
        p += k;
        break;
      }
    }
    cuts.push(p);
    pos = p;
    step = step >= 157 ? 13 : step + 24;
  }
  return cuts;
}

function write(res: ServerResponse, data: Buffer | string): Promise<void> {
  return new Promise((resolve) => {
    if (res.destroyed || res.writableEnded) return resolve();
    const ok = res.write(data, () => resolve());
    if (!ok) res.once("drain", () => resolve());
  });
}

export interface StreamOptions {
  core: Core;
  res: ServerResponse;
  rec: RecordedRequest;
  plan: RestPlan;
  headers: Record<string, string>;
}

/** Streams the plan; resolves when the response ended, was destroyed, or the client went away. */
export async function streamRest({ core, res, rec, plan, headers }: StreamOptions): Promise<void> {
  const contentType = plan.framing.startsWith("sse") ? "text/event-stream; charset=utf-8" : "application/json; charset=utf-8";
  let serverAborted = false;
  core.openStreams.add(res);
  const closed = new Promise<void>((resolve) => {
    res.on("close", () => {
      core.openStreams.delete(res);
      if (!res.writableFinished && !serverAborted && !core.closing) rec.clientClosedEarly = true;
      resolve();
    });
  });
  res.socket?.setNoDelay(true);
  res.writeHead(200, { "content-type": contentType, "cache-control": "no-cache", ...headers });
  res.flushHeaders();
  const gone = () => res.destroyed || core.closing;
  const pause = async () => (plan.delayMs > 0 ? core.timers.sleep(plan.delayMs) : true);

  if (plan.split) {
    const buf = Buffer.from(encodePlan(plan.frames, plan.framing), "utf8");
    let last = 0;
    for (const cut of [...splitOffsets(buf), buf.length]) {
      if (gone()) return closed;
      await write(res, buf.subarray(last, cut));
      last = cut;
      if (!(await core.timers.sleep(Math.max(1, plan.delayMs)))) return closed;
    }
    res.end();
    return closed;
  }

  const n = plan.frames.length;
  for (let i = 0; i < n; i++) {
    if (gone()) return closed;
    if (plan.stallAfter !== undefined && i >= plan.stallAfter) return closed; // silence until someone closes
    const bytes = Buffer.from(encodeFrame(plan.frames[i]!, i, n, plan.framing), "utf8");
    if (plan.dropAfter !== undefined && i >= plan.dropAfter) {
      await write(res, bytes.subarray(0, Math.floor(bytes.length / 2)));
      await core.timers.sleep(30);
      serverAborted = true;
      const sock = res.socket;
      if (sock && typeof sock.resetAndDestroy === "function") sock.resetAndDestroy();
      else res.destroy();
      return closed;
    }
    await write(res, bytes);
    if (i < n - 1 && !(await pause())) return closed;
  }
  if (plan.stallAfter !== undefined && plan.stallAfter >= n) return closed;
  if (gone()) return closed;
  res.end(terminator(plan.framing));
  return closed;
}
