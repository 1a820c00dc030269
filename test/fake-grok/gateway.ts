/** WebSocket chat gateway /ws/mgw/?uid= (§3). */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { RawData, WebSocket, WebSocketServer } from "ws";
import type { Core } from "./core.js";
import type { Frame } from "./fixtures.js";
import type { AccountRecord, ConversationRecord } from "./state.js";
import type { RecordedRequest, Scenario } from "./types.js";
import type { GwPlan } from "./gateway-scripts.js";
import { MODE_IDS, isKnownFile } from "./chat-body.js";
import { failures } from "./errors.js";
import { buildGatewayPlan, errorEvent, sessionEvents } from "./gateway-scripts.js";
import { registerGeneratedAssets } from "./media-bytes.js";
import { chargeChat, hasChatQuota } from "./quota.js";
import { implicitScenario, magicScenario, SUCCESS_SCENARIOS } from "./scenarios.js";
import { debug, isPlainObject, uuid, UUID_V4_RE } from "./util.js";
import { handshakeScenario, recordUpgrade, rejectUpgrade, sendText, validateUpgrade } from "./ws-common.js";

interface GwSession {
  id: string;
  model: string;
  chunkMode: boolean;
  attachedExpected: boolean;
  ready: boolean;
  conversation: ConversationRecord;
  continuation: boolean;
  scenario?: Scenario;
  /** The scenario came from a queue (not the default), so no implicit choice applies. */
  explicit: boolean;
  sent: number;
  limit: number;
  turns: number;
  pendingItem?: { text: string; parent?: string; fileIds: string[] };
  running: boolean;
  /** Silent on purpose (stalled scenarios): any client close counts as early. */
  hanging: boolean;
}

export function handleGatewayUpgrade(core: Core, wss: WebSocketServer, req: IncomingMessage, socket: Duplex, head: Buffer, url: URL): void {
  const rec = recordUpgrade(core, req, url);
  const up = validateUpgrade(core, socket, url, rec);
  if (!up) return;
  const uid = url.searchParams.get("uid");
  const xuid = up.cookies["x-userid"];
  if (!uid) return rejectUpgrade(socket, rec, failures.unauthenticated(), "uid query parameter missing");
  if (!xuid) return rejectUpgrade(socket, rec, failures.unauthenticated(), "x-userid cookie missing");
  if (xuid !== uid) return rejectUpgrade(socket, rec, failures.unauthenticated(), `x-userid cookie ${xuid} differs from uid ${uid}`);
  if (uid !== up.account.userId) return rejectUpgrade(socket, rec, failures.unauthenticated(), `uid ${uid} is not the account's user id`);
  if (handshakeScenario(core, socket, up)) return;
  wss.handleUpgrade(req, socket, head, (ws) => new GatewayConnection(core, ws, rec, up.account).start());
}

class GatewayConnection {
  private readonly sessions = new Map<string, GwSession>();
  private serverClosed = false;

  constructor(
    private readonly core: Core,
    private readonly ws: WebSocket,
    private readonly rec: RecordedRequest,
    private readonly acc: AccountRecord,
  ) {}

  start(): void {
    this.core.openSockets.add(this.ws);
    this.ws.on("message", (data, isBinary) => this.onMessage(data, isBinary));
    this.ws.on("close", () => {
      this.core.openSockets.delete(this.ws);
      const busy = [...this.sessions.values()].some((s) => s.running || s.hanging);
      if (busy && !this.serverClosed && !this.core.closing) this.rec.clientClosedEarly = true;
    });
    this.ws.on("error", (e) => debug("gateway socket error", e.message));
  }

  private send(s: GwSession | undefined, frame: Frame, fragment = false): void {
    if (s) {
      if (s.sent >= s.limit) return; // stalled: the server stays silent
      s.sent++;
    }
    this.rec.wsSent!.push(frame);
    sendText(this.ws, JSON.stringify(frame), fragment);
  }

  private invalid(s: GwSession | undefined, sid: string | undefined, reason: string): void {
    this.rec.rejected = { status: 400, reason };
    debug(`gateway reject: ${reason}`);
    this.send(s, errorEvent(sid, 3, reason));
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    if (isBinary) {
      this.rec.wsMessages!.push({ binary: true, length: Buffer.isBuffer(data) ? data.length : 0 });
      return;
    }
    const text = Buffer.isBuffer(data) ? data.toString("utf8") : Array.isArray(data) ? Buffer.concat(data).toString("utf8") : Buffer.from(data).toString("utf8");
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      this.rec.wsMessages!.push(text);
      return this.invalid(undefined, undefined, "message is not JSON");
    }
    this.rec.wsMessages!.push(msg);
    if (!isPlainObject(msg) || !isPlainObject(msg.event) || typeof msg.event.type !== "string") {
      return this.invalid(undefined, undefined, "message is not an envelope with an event");
    }
    const sid = typeof msg.session_id === "string" ? msg.session_id : undefined;
    const ev = msg.event;
    switch (ev.type) {
      case "ping":
        (this.rec.wsPings ??= []).push(Date.now());
        return;
      case "session.create":
        return this.onSessionCreate(sid, ev);
      case "conversation.item.create":
        return this.onItem(sid, ev);
      case "response.create":
        return void this.onResponseCreate(sid, ev);
      default:
        debug(`gateway ignores event ${ev.type}`);
    }
  }

  private takeScenario(): { scenario: Scenario; explicit: boolean } {
    const queued = this.core.state.scenarios.take(this.acc.sso);
    return { scenario: queued ?? this.core.state.scenarios.default, explicit: !!queued };
  }

  private onSessionCreate(sid: string | undefined, ev: Record<string, unknown>): void {
    if (typeof ev.event_id !== "string" || !ev.event_id) return this.invalid(undefined, sid, "session.create needs an event_id");
    const session = ev.session;
    if (!isPlainObject(session)) return this.invalid(undefined, sid, "session.create needs a session object");
    if (!(MODE_IDS as readonly unknown[]).includes(session.model)) return this.invalid(undefined, sid, `unknown session.model ${JSON.stringify(session.model)}`);
    const xg = session.x_grok;
    if (xg !== undefined && !isPlainObject(xg)) return this.invalid(undefined, sid, "session.x_grok must be an object");
    const caps = isPlainObject(xg) && Array.isArray(xg.protocol_capabilities) ? (xg.protocol_capabilities as unknown[]) : [];
    const { scenario, explicit } = this.takeScenario();
    this.noteScenario(scenario);
    let conversation: ConversationRecord | undefined;
    if (sid) {
      if (!isPlainObject(xg) || xg.load_existing !== true) return this.invalid(undefined, sid, "continuation needs x_grok.load_existing:true");
      if (xg.conversation_id !== undefined && xg.conversation_id !== sid) return this.invalid(undefined, sid, "x_grok.conversation_id differs from session_id");
      conversation = this.core.state.conversations.get(sid);
      if (scenario.name === "conversation-not-found" || !conversation || conversation.owner !== this.acc.sso) {
        return this.send(undefined, errorEvent(sid, "conversation_not_found", "Conversation not found"));
      }
    } else if (scenario.name === "conversation-not-found") {
      return this.send(undefined, errorEvent(undefined, "conversation_not_found", "Conversation not found"));
    } else {
      conversation = { id: uuid(), owner: this.acc.sso, responseIds: [] };
      this.core.state.conversations.set(conversation.id, conversation);
    }
    const s: GwSession = {
      id: conversation.id,
      model: session.model as string,
      chunkMode: isPlainObject(xg) && xg.use_chunk === true,
      attachedExpected: caps.includes("conversation_attached"),
      ready: false,
      conversation,
      continuation: !!sid,
      scenario,
      explicit,
      sent: 0,
      limit: scenario.name === "stalled" ? scenario.stallAfterFrames ?? 2 : Number.POSITIVE_INFINITY,
      turns: 0,
      running: false,
      hanging: scenario.name === "stalled",
    };
    this.sessions.set(s.id, s);
    for (const f of sessionEvents(s.id, ev.event_id, s.model, s.attachedExpected, !s.chunkMode)) this.send(s, f);
    s.ready = s.sent >= (s.attachedExpected ? 2 : 1);
  }

  /** Records the scenario of a turn; `replace` corrects the entry of the current turn. */
  private noteScenario(sc: Scenario, replace = false): void {
    this.rec.scenario = sc.name;
    const list = (this.rec.scenarios ??= []);
    if (replace && list.length) list[list.length - 1] = sc.name;
    else list.push(sc.name);
  }

  private session(sid: string | undefined): GwSession | undefined {
    return sid ? this.sessions.get(sid) : undefined;
  }

  private onItem(sid: string | undefined, ev: Record<string, unknown>): void {
    const s = this.session(sid);
    if (!s) return this.invalid(undefined, sid, `conversation.item.create for unknown session_id ${sid}`);
    if (s.sent >= s.limit) return; // a stalled server ignores everything
    if (!s.ready) return this.invalid(s, sid, "item sent before session.created/conversation.attached");
    if (s.running || s.pendingItem) return this.invalid(s, sid, "a turn is already pending in this session");
    const parsed = this.parseItem(s, ev);
    if (typeof parsed === "string") return this.invalid(s, sid, parsed);
    s.pendingItem = parsed;
    if (s.turns > 0) {
      ({ scenario: s.scenario, explicit: s.explicit } = this.takeScenario());
      this.noteScenario(s.scenario);
    }
    const chosen = magicScenario(parsed.text) ?? this.core.state.scenarios.respond(parsed.text) ?? implicitScenario(s.scenario ?? this.core.state.scenarios.default, s.explicit, parsed.text);
    if (chosen !== s.scenario) {
      s.scenario = chosen;
      this.noteScenario(chosen, true);
    }
  }

  private parseItem(s: GwSession, ev: Record<string, unknown>): { text: string; parent?: string; fileIds: string[] } | string {
    const item = ev.item;
    if (!isPlainObject(item)) return "conversation.item.create needs an item";
    if (item.type !== "message" || item.role !== "user") return "item must be a user message";
    const ids = ev.file_attachment_ids ?? item.file_attachment_ids ?? [];
    if (!Array.isArray(ids) || ids.some((x) => typeof x !== "string")) return "file_attachment_ids must be an array of strings";
    const fileIds = ids as string[];
    let text = "";
    if (isPlainObject(item.x_grok)) {
      const xg = item.x_grok;
      if (typeof xg.client_message_id !== "string" || !UUID_V4_RE.test(xg.client_message_id)) return "x_grok.client_message_id must be a UUIDv4";
      if (!Array.isArray(xg.input_chunks) || xg.input_chunks.length === 0) return "x_grok.input_chunks must hold at least one chunk";
      for (const c of xg.input_chunks as unknown[]) {
        if (isPlainObject(c) && isPlainObject(c.text) && typeof c.text.text === "string") text += c.text.text;
        else if (isPlainObject(c) && isPlainObject(c.mention)) {
          const fid = (c.mention as Frame).target?.file_mention?.file_id;
          if (typeof fid !== "string") return "file_mention needs a file_id";
          if (!fileIds.includes(fid)) return `file_mention ${fid} is not in file_attachment_ids`;
        } else return "unknown input chunk";
      }
    } else if (Array.isArray(item.content)) {
      const parts = (item.content as unknown[]).filter((p) => isPlainObject(p) && p.type === "input_text" && typeof p.text === "string") as Frame[];
      if (parts.length === 0) return "content needs an input_text part";
      text = parts.map((p) => p.text as string).join("\n");
    } else return "item needs x_grok.input_chunks or a content array";
    for (const f of fileIds) if (!isKnownFile(this.core.state, this.acc, f)) return `unknown file attachment ${f}`;
    const parent = ev.parent_response_id;
    if (parent !== undefined && typeof parent !== "string") return "parent_response_id must be a string";
    const check = this.checkParent(s, parent as string | undefined);
    if (check) return check;
    return { text, parent: parent as string | undefined, fileIds };
  }

  private checkParent(s: GwSession, parent: string | undefined): string | undefined {
    const needsParent = s.continuation || s.turns > 0;
    if (!needsParent) return parent ? "parent_response_id on a new conversation" : undefined;
    if (!parent) return "continuation needs parent_response_id";
    if (parent !== s.conversation.lastResponseId) return `parent_response_id ${parent} is not the last response ${s.conversation.lastResponseId ?? "(none)"}`;
    return undefined;
  }

  private async onResponseCreate(sid: string | undefined, ev: Record<string, unknown>): Promise<void> {
    const s = this.session(sid);
    if (!s) return this.invalid(undefined, sid, `response.create for unknown session_id ${sid}`);
    if (s.sent >= s.limit) return;
    if (s.running) return this.invalid(s, sid, "response.create while a response is running");
    const extra = ev.file_attachment_ids;
    if (extra !== undefined) {
      if (!Array.isArray(extra) || extra.some((f) => typeof f !== "string" || !isKnownFile(this.core.state, this.acc, f))) {
        return this.invalid(s, sid, "response.create file_attachment_ids must be known uploads");
      }
    }
    if (!s.pendingItem) {
      const parent = ev.parent_response_id; // regeneration: parent on response.create, no item
      if (typeof parent !== "string") return this.invalid(s, sid, "response.create without a conversation item");
      if (!s.conversation.responseIds.includes(parent)) return this.invalid(s, sid, `regeneration parent ${parent} unknown`);
      if (s.turns > 0) {
        ({ scenario: s.scenario, explicit: s.explicit } = this.takeScenario());
        this.noteScenario(s.scenario);
      }
      s.pendingItem = { text: "", parent, fileIds: [] };
    }
    s.running = true;
    s.pendingItem = undefined;
    try {
      await this.runTurn(s);
    } finally {
      s.running = false;
      s.turns++;
    }
  }

  private async runTurn(s: GwSession): Promise<void> {
    let sc = s.scenario ?? this.core.state.scenarios.default;
    if (SUCCESS_SCENARIOS.has(sc.name)) {
      if (!hasChatQuota(this.core.state, this.acc, s.model, 1)) sc = { name: "usage-limit" };
      else chargeChat(this.core.state, this.acc, s.model, 1);
    }
    const responseId = uuid();
    const plan = buildGatewayPlan({ scenario: sc, sessionId: s.id, responseId, userId: this.acc.userId, chunkMode: s.chunkMode });
    if (sc.name === "stalled") plan.completes = false;
    registerGeneratedAssets(this.core.state, this.acc.userId, plan.events);
    s.conversation.responseIds.push(responseId);
    if (plan.completes) {
      s.conversation.lastResponseId = responseId;
      this.core.state.responses.set(responseId, { id: responseId, conversationId: s.id, owner: this.acc.sso, role: "assistant", text: plan.answer });
    }
    await this.emit(s, plan);
  }

  private async emit(s: GwSession, plan: GwPlan): Promise<void> {
    const n = plan.stallAt ?? plan.events.length;
    for (let i = 0; i < n; i++) {
      if (this.ws.readyState !== this.ws.OPEN) return;
      if (i > 0 && plan.delayMs > 0 && !(await this.core.timers.sleep(plan.delayMs))) return;
      this.send(s, plan.events[i]!, plan.split);
    }
    if (plan.stallAt !== undefined) {
      s.limit = s.sent; // silence from now on
      s.hanging = true;
      return;
    }
    if (plan.end) {
      await this.core.timers.sleep(20);
      this.serverClosed = true;
      if (plan.end === "terminate") this.ws.terminate();
      else this.ws.close(1011, "internal error");
    }
  }
}
