/** Imagine WebSocket /ws/imagine/listen (§7.3), replayed from fixtures/ws-imagine.jsonl. */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { RawData, WebSocket, WebSocketServer } from "ws";
import type { Core } from "./core.js";
import type { Frame } from "./fixtures.js";
import type { AccountRecord } from "./state.js";
import type { RecordedRequest, Scenario } from "./types.js";
import { ASPECT_RATIOS } from "./chat-body.js";
import { USAGE_LIMIT_MESSAGE } from "./errors.js";
import { clone, fixtureBytes, loadGateway } from "./fixtures.js";
import { chargeImagine } from "./quota.js";
import { HTTP_FAILURE_SCENARIOS, magicScenario } from "./scenarios.js";
import { SLOW_DELAY_MS } from "./text.js";
import { debug, isPlainObject, uuid } from "./util.js";
import { handshakeScenario, recordUpgrade, sendText, validateUpgrade } from "./ws-common.js";

const SIZES: Record<string, [number, number]> = {
  auto: [1024, 1024], "1:1": [1024, 1024], "16:9": [1280, 720], "9:16": [720, 1280], "4:3": [1152, 864], "3:4": [864, 1152],
  "3:2": [1248, 832], "2:3": [832, 1248], "2:1": [1440, 720], "1:2": [720, 1440], "19.5:9": [1560, 720], "9:19.5": [720, 1560],
  "20:9": [1600, 720], "9:20": [720, 1600],
};
const DEFAULT_GENERATIONS = 4;

export function handleImagineUpgrade(core: Core, wss: WebSocketServer, req: IncomingMessage, socket: Duplex, head: Buffer, url: URL): void {
  const rec = recordUpgrade(core, req, url);
  const up = validateUpgrade(core, socket, url, rec);
  if (!up) return;
  if (handshakeScenario(core, socket, up)) return;
  wss.handleUpgrade(req, socket, head, (ws) => new ImagineConnection(core, ws, rec, up.account).start());
}

interface Round {
  prompt: string;
  n: number;
  width: number;
  height: number;
}

class ImagineConnection {
  private running = false;
  private hanging = false;
  private serverClosed = false;

  constructor(
    private readonly core: Core,
    private readonly ws: WebSocket,
    private readonly rec: RecordedRequest,
    private readonly acc: AccountRecord,
  ) {}

  start(): void {
    this.core.openSockets.add(this.ws);
    this.ws.on("message", (data, isBinary) => void this.onMessage(data, isBinary));
    this.ws.on("close", () => {
      this.core.openSockets.delete(this.ws);
      if ((this.running || this.hanging) && !this.serverClosed && !this.core.closing) this.rec.clientClosedEarly = true;
    });
    this.ws.on("error", (e) => debug("imagine socket error", e.message));
  }

  private send(frame: Frame, fragment = false): void {
    this.rec.wsSent!.push(frame);
    sendText(this.ws, JSON.stringify(frame), fragment);
  }

  private fail(code: string, message: string, reason?: string): void {
    if (reason) this.rec.rejected = { status: 400, reason };
    this.send({ type: "error", err_code: code, err_msg: message });
  }

  private async onMessage(data: RawData, isBinary: boolean): Promise<void> {
    if (isBinary) return void this.rec.wsMessages!.push({ binary: true });
    const text = (Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer)).toString("utf8");
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      this.rec.wsMessages!.push(text);
      return this.fail("invalid_request", "message is not JSON", "imagine message is not JSON");
    }
    this.rec.wsMessages!.push(msg);
    if (!isPlainObject(msg) || msg.type !== "conversation.item.create" || !isPlainObject(msg.item)) {
      return this.fail("invalid_request", "expected conversation.item.create", "imagine message is not conversation.item.create");
    }
    if (typeof msg.timestamp !== "number") return this.fail("invalid_request", "timestamp is required", "imagine message without timestamp");
    const content = msg.item.content;
    if (msg.item.type !== "message" || !Array.isArray(content) || content.length === 0) return this.fail("invalid_request", "item.content is required", "imagine item without content");
    const part = content[0];
    if (isPlainObject(part) && part.type === "reset") return;
    const round = this.parseRequest(part);
    if (typeof round === "string") return this.fail("invalid_request", round, round);
    if (this.running) return this.fail("invalid_request", "a round is already running", "imagine request while a round runs");
    this.running = true;
    try {
      await this.runRound(round, magicScenario(round.prompt) ?? this.core.state.scenarios.take(this.acc.sso) ?? this.core.state.scenarios.default);
    } finally {
      this.running = false;
    }
  }

  private parseRequest(part: unknown): Round | string {
    if (!isPlainObject(part) || part.type !== "input_text") return "content must be an input_text part";
    if (typeof part.text !== "string" || !part.text.trim()) return "text must be a non-empty string";
    if (typeof part.requestId !== "string" || !part.requestId) return "requestId is required";
    const p = part.properties;
    if (!isPlainObject(p)) return "properties are required";
    const ratio = (p.aspect_ratio ?? "auto") as string;
    if (!ASPECT_RATIOS.includes(ratio)) return `unsupported aspect_ratio ${ratio}`;
    for (const k of ["is_kids_mode", "enable_nsfw", "skip_upsampler", "enable_side_by_side", "is_initial", "enable_pro"]) {
      if (k in p && typeof p[k] !== "boolean") return `${k} must be a boolean`;
    }
    const n = p.num_generations ?? DEFAULT_GENERATIONS;
    if (typeof n !== "number" || !Number.isInteger(n) || n < 1 || n > 10) return "num_generations must be 1-10";
    const [width, height] = SIZES[ratio]!;
    return { prompt: part.text, n, width, height };
  }

  private framesFor(round: Round, sc: Scenario): Frame[] {
    const tpl = loadGateway("ws-imagine.jsonl").server;
    const [start, preview, final, done] = [0, 1, 2, 3].map((i) => tpl[i]!);
    const ids = Array.from({ length: round.n }, () => uuid());
    const pub = `${this.core.assetsUrl}/imagine-public/images/`;
    const moderated = sc.name === "moderated";
    const starts = ids.map((id, k) => ({ ...clone(start!), image_id: id, order: k, width: round.width, height: round.height }));
    const previews = ids.map((id, k) => ({ ...clone(preview!), id, url: `${pub}${id}.png`, blob: fixtureBytes("image.png").toString("base64"), grid_index: k }));
    const out: Frame[] = [...starts, ...previews];
    ids.forEach((id, k) => {
      this.core.state.putAsset({ path: `imagine-public/images/${id}.png`, contentType: "image/png", bytes: fixtureBytes("image.png") });
      const completed = { ...clone(done!), image_id: id, order: k, moderated };
      if (moderated) return void out.push(completed);
      this.core.state.putAsset({ path: `imagine-public/images/${id}.jpg`, contentType: "image/jpeg", bytes: fixtureBytes("image.jpg") });
      const fin = { ...clone(final!), id, url: `${pub}${id}.jpg`, blob: fixtureBytes("image.jpg").toString("base64"), grid_index: k, width: round.width, height: round.height };
      out.push(...(sc.variant === "out-of-order" ? [completed, fin] : [fin, completed]));
    });
    return out;
  }

  private async runRound(round: Round, sc: Scenario): Promise<void> {
    this.rec.scenario = sc.name;
    (this.rec.scenarios ??= []).push(sc.name);
    if (HTTP_FAILURE_SCENARIOS.has(sc.name) || sc.name === "403-json-code7" || sc.name === "403-json-code7-in-stream") {
      return this.fail(sc.name === "http-429" ? "rate_limit_exceeded" : sc.name.startsWith("403") ? "permission_denied" : "internal", sc.name === "http-429" ? "Too many requests" : "Request rejected");
    }
    if (sc.name === "usage-limit" || sc.name === "in-stream-rate-limit") return this.fail("rate_limit_exceeded", USAGE_LIMIT_MESSAGE);
    const remaining = this.core.state.remaining(this.acc, "image_pro") ?? 0;
    if (remaining <= 0) return this.fail("rate_limit_exceeded", USAGE_LIMIT_MESSAGE);
    round.n = Math.min(round.n, remaining);
    const frames = this.framesFor(round, sc);
    if (sc.name !== "moderated") chargeImagine(this.core.state, this.acc, "image_pro", round.n);
    const delay = sc.delayMs ?? (sc.name === "slow" ? SLOW_DELAY_MS : 0);
    let limit = frames.length;
    if (sc.name === "stalled") limit = sc.stallAfterFrames ?? 2;
    if (sc.name === "stalled-after-first" || sc.name === "dropped" || sc.name === "session-ended") limit = round.n + 1;
    for (let i = 0; i < Math.min(limit, frames.length); i++) {
      if (this.ws.readyState !== this.ws.OPEN) return;
      if (i > 0 && delay > 0 && !(await this.core.timers.sleep(delay))) return;
      this.send(frames[i]!, sc.name === "split-utf8");
    }
    if (sc.name === "stalled" || sc.name === "stalled-after-first") return void (this.hanging = true);
    if (sc.name === "dropped" || sc.name === "session-ended" || sc.variant === "close") {
      await this.core.timers.sleep(20);
      this.serverClosed = true;
      if (sc.name === "dropped") this.ws.terminate();
      else this.ws.close(1000);
    }
  }
}
