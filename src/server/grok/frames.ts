import { classifyInStream, failure } from "./classify.js";
import type { GrokEvent, Source } from "../core/events.js";
import { type Obj, TOOL_KEY_NAMES, isObj, num, parseJsonData, str, webSources, xPostSources } from "./frame-values.js";
import { MarkupFilter } from "./markup.js";

/**
 * The one tolerant frame parser: REST NDJSON frames (`{"result":…}` / `{"error":…}`, §4.5) and
 * gateway envelopes (`{"session_id","event":{type,…}}`, §3.5) both become GrokEvents.
 * Per-turn state: markup filter, pending inline citations, streamed raw text (to reconcile the
 * final `modelResponse.message`), tool ids awaiting results, and a count of unknown frames.
 */
export interface FrameParserOptions {
  filteredTags?: string[];
}

export class FrameParser {
  private readonly markup: MarkupFilter;
  private rawAnswer = ""; // streamed answer text before markup filtering
  private sawAnswerDelta = false;
  private cards: Map<string, string> | null = null; // citation card id → url (made at the first card: most answers have none)
  /** Asset paths of the image frames seen (final or moderated), so the final generatedImageUrls list adds only the rest. */
  private imageSeen: Set<string> | null = null;
  /** Image URLs (and `id:` keys) already announced; made at the first image. */
  private get imageUrls(): Set<string> {
    return (this.imageSeen ??= new Set<string>());
  }
  /** Answer text and citations held behind an unresolved inline citation (its card comes later). */
  private held: { cardId: string; events: GrokEvent[] } | null = null;
  private readonly openTools: Array<{ id: string | null; name: string }> = [];
  private ended = false;
  unknownFrames = 0;
  conversationId: string | null = null;
  responseId: string | null = null;

  constructor(opts: FrameParserOptions = {}) {
    this.markup = new MarkupFilter(opts.filteredTags);
  }

  /** One parsed JSON frame of either family. */
  push(frame: unknown): GrokEvent[] {
    const out: GrokEvent[] = [];
    if (!isObj(frame)) {
      this.unknownFrames++;
      return out;
    }
    if (isObj(frame.event) && typeof frame.event.type === "string") this.gateway(frame, frame.event, out);
    else if ("result" in frame || "error" in frame) this.rest(frame, out);
    else if (typeof frame.code === "number" && typeof frame.message === "string") out.push({ type: "error", error: classifyInStream(frame.code, frame.message) });
    else this.unknownFrames++;
    return out;
  }

  /** End of the upstream stream: flush held-back text and citations. */
  end(): GrokEvent[] {
    if (this.ended) return [];
    this.ended = true;
    const out: GrokEvent[] = [];
    this.emitPieces(this.markup.end(), out);
    if (this.held) {
      out.push(...this.held.events); // the unresolved citation itself is dropped
      this.held = null;
    }
    return out;
  }

  // ---------------------------------------------------------------- REST (§4.5)

  private rest(frame: Obj, out: GrokEvent[]): void {
    if (isObj(frame.error) || typeof frame.error === "string") {
      const e = isObj(frame.error) ? frame.error : { message: frame.error };
      out.push({ type: "error", error: classifyInStream((e.code as string | number) ?? null, str(e.message) ?? "") });
      return;
    }
    const result = frame.result;
    if (!isObj(result)) return void this.unknownFrames++;
    if (isObj(result.conversation)) {
      const id = str(result.conversation.conversationId);
      if (id) this.conversationId = id;
      out.push({ type: "meta", ...(id ? { conversationId: id } : {}) });
      return;
    }
    if (isObj(result.title)) {
      out.push({ type: "meta", title: str(result.title.newTitle) ?? "" });
      return;
    }
    // Flatter envelope on /responses: {"result":{"token":…,"responseId":…}}
    const r = isObj(result.response) ? result.response : "token" in result || "modelResponse" in result ? result : null;
    if (!r) return void this.unknownFrames++;
    this.restResponse(r, out);
  }

  private restResponse(r: Obj, out: GrokEvent[]): void {
    let known = false;
    if (isObj(r.error)) {
      known = true;
      out.push({ type: "error", error: classifyInStream((r.error.code as string | number) ?? null, str(r.error.message) ?? "") });
    }
    if (isObj(r.userResponse)) return; // echo of the human turn
    const rid = str(r.responseId);
    if (rid) this.responseId = rid;
    if (isObj(r.streamingImageGenerationResponse)) {
      known = true;
      const s = r.streamingImageGenerationResponse;
      const progress = num(s.progress) ?? 0;
      const moderated = s.moderated === true;
      const url = str(s.imageUrl);
      if (url) this.imageUrls.add(url);
      if (moderated && str(s.imageId)) this.imageUrls.add(`id:${str(s.imageId)}`);
      out.push({ type: "image", id: str(s.imageId) ?? "", url, progress, moderated, final: (progress >= 100 || s.isFinal === true) && !moderated, errorCode: null });
    }
    if (isObj(r.cachedImageGenerationResponse)) {
      known = true;
      const url = str(r.cachedImageGenerationResponse.imageUrl);
      out.push({ type: "image", id: url ?? "", url, progress: 100, moderated: false, final: true, errorCode: null });
    }
    const cards = [r.cardAttachment, ...(Array.isArray(r.cardAttachments) ? r.cardAttachments : [])].filter(isObj);
    for (const c of cards) {
      known = true;
      this.card(parseJsonData(c.jsonData), out);
    }
    if (isObj(r.streamingVideoGenerationResponse)) {
      known = true;
      const v = r.streamingVideoGenerationResponse;
      const url = str(v.videoUrl) ?? str(v.contentUrl) ?? str(v.assetUrl) ?? str(v.fileUri);
      out.push({ type: "video", id: str(v.videoId) ?? str(v.assetId) ?? "", url, thumbnailUrl: str(v.thumbnailImageUrl), progress: num(v.progress) ?? 0, moderated: v.moderated === true });
    }
    const sources = this.restSources(r);
    if (sources.length) {
      known = true;
      out.push({ type: "sources", toolId: str(r.toolUsageCardId), sources });
    }
    if (isObj(r.toolUsageCard) || r.messageTag === "tool_usage_card") {
      known = true;
      out.push(this.restTool(r));
      return;
    }
    if (typeof r.token === "string") {
      known = true;
      if (r.token && r.messageTag !== "raw_function_result") {
        if (r.isThinking === true) out.push({ type: "reasoning", text: r.token, header: r.messageTag === "header" });
        else this.answer(r.token, out);
      }
    }
    if (isObj(r.modelResponse)) {
      known = true;
      this.modelResponse(r.modelResponse, out);
    }
    if ("finalMetadata" in r || "uiLayout" in r || "llmInfo" in r || "progressReport" in r || "imageDimensions" in r || "imageAttachmentInfo" in r || "isSoftStop" in r) known = true;
    if (!known) this.unknownFrames++;
  }

  private restSources(r: Obj): Source[] {
    return [...webSources(isObj(r.webSearchResults) ? r.webSearchResults.results : null), ...xPostSources(isObj(r.xSearchResults) ? r.xSearchResults.results : null)];
  }

  private restTool(r: Obj): GrokEvent {
    const card = isObj(r.toolUsageCard) ? r.toolUsageCard : {};
    let name = "tool";
    let query: string | null = null;
    for (const [k, v] of Object.entries(card)) {
      if (k === "toolUsageCardId" || !isObj(v)) continue;
      name = TOOL_KEY_NAMES[k] ?? k;
      const args = isObj(v.args) ? v.args : v;
      query = str(args.query);
    }
    if (name === "tool" && typeof r.token === "string") {
      // XML form: <xai:tool_name>web_search</xai:tool_name><xai:tool_args><![CDATA[{"query":"…"}]]></xai:tool_args>
      name = /<xai:tool_name>([^<]*)<\/xai:tool_name>/i.exec(r.token)?.[1] ?? name;
      const args = /<!\[CDATA\[([\s\S]*?)\]\]>/.exec(r.token)?.[1];
      const parsed = args ? parseJsonData(args) : null;
      query = parsed ? str(parsed.query) : null;
    }
    const id = str(card.toolUsageCardId) ?? str(r.toolUsageCardId);
    this.openTools.push({ id, name });
    return { type: "tool", id, name, query };
  }

  private modelResponse(m: Obj, out: GrokEvent[]): void {
    const rid = str(m.responseId);
    if (rid) this.responseId = rid;
    const message = str(m.message);
    // If the final message extends what was streamed, emit only the missing suffix; if it differs, keep the stream.
    if (message) {
      if (!this.sawAnswerDelta) this.answer(message, out);
      else if (message.length > this.rawAnswer.length && message.startsWith(this.rawAnswer)) this.answer(message.slice(this.rawAnswer.length), out);
    }
    for (const raw of Array.isArray(m.cardAttachmentsJson) ? m.cardAttachmentsJson : []) this.card(parseJsonData(raw), out, true);
    // §7.1: the final list of generated images; streamed ones were announced already (moderated ones are absent from it).
    for (const u of Array.isArray(m.generatedImageUrls) ? m.generatedImageUrls : []) {
      if (typeof u !== "string" || !u || this.imageUrls.has(u)) continue;
      const id = /\/generated\/([^/]+)\//.exec(u)?.[1] ?? u;
      if (this.imageUrls.has(`id:${id}`)) continue;
      this.imageUrls.add(u);
      out.push({ type: "image", id, url: u, progress: 100, moderated: false, final: true, errorCode: null });
    }
    const errors = Array.isArray(m.streamErrors) ? m.streamErrors : [];
    if (errors.length) {
      const first = errors[0];
      const msg = typeof first === "string" ? first : isObj(first) ? (str(first.message) ?? str(first.error) ?? JSON.stringify(first)) : String(first);
      const code = isObj(first) ? ((first.code as string | number) ?? null) : null;
      out.push({ type: "error", error: classifyInStream(code, msg) });
    } else if (isObj(m.error)) {
      out.push({ type: "error", error: classifyInStream((m.error.code as string | number) ?? null, str(m.error.message) ?? "") });
    }
  }

  // ---------------------------------------------------------------- gateway (§3.5)

  private gateway(frame: Obj, ev: Obj, out: GrokEvent[]): void {
    switch (ev.type) {
      case "session.created": {
        const sid = str(frame.session_id);
        if (sid) this.conversationId ??= sid;
        return;
      }
      case "conversation.attached": {
        const id = isObj(ev.conversation) ? str(ev.conversation.id) : null;
        if (id) this.conversationId = id;
        out.push({ type: "meta", ...(id ? { conversationId: id } : {}) });
        return;
      }
      case "conversation.commands.updated":
      case "response.created":
      case "response.output_item.added":
      case "response.content_part.added":
      case "response.content_part.done":
      case "response.output_item.done":
      case "response.completed":
      case "ping":
      case "pong":
        return;
      case "response.chunk":
        if (isObj(ev.chunk)) this.gatewayChunk(ev.chunk, out);
        return;
      case "response.output_text.delta": {
        const d = str(ev.delta) ?? "";
        const thinking = isObj(ev.x_grok) && ev.x_grok.is_thinking === true;
        if (d) {
          if (thinking) out.push({ type: "reasoning", text: d, header: false });
          else this.answer(d, out);
        }
        return;
      }
      case "response.output_text.done": {
        const t = str(ev.text);
        if (t && !this.sawAnswerDelta) this.answer(t, out);
        return;
      }
      case "response.search.result": {
        const res = isObj(ev.result) ? ev.result : {};
        const sources = webSources(Array.isArray(res.web_results) ? res.web_results : [res]);
        if (sources.length) out.push({ type: "sources", toolId: null, sources });
        return;
      }
      case "response.grok.output":
        if (isObj(ev.output)) this.grokOutput(ev.output, out);
        return;
      case "response.done": {
        const resp = isObj(ev.response) ? ev.response : {};
        const status = str(resp.status) ?? "completed";
        const rid = str(resp.id);
        if (rid) this.responseId = rid;
        if (status !== "completed") out.push({ type: "error", error: classifyInStream(null, `upstream response ended with status "${status}"`) });
        out.push(...this.end());
        out.push({ type: "done", responseId: rid, status });
        return;
      }
      case "error": {
        const e = isObj(ev.error) ? ev.error : {};
        out.push({ type: "error", error: classifyInStream((e.code as string | number) ?? null, str(e.message) ?? "") });
        return;
      }
      case "session.ended":
        out.push({ type: "error", error: failure("network", "grok.com ended the session before the response completed") });
        return;
      default:
        this.unknownFrames++;
    }
  }

  private gatewayChunk(chunk: Obj, out: GrokEvent[]): void {
    if (isObj(chunk.text)) {
      const text = str(chunk.text.text) ?? "";
      const channel = str(chunk.text.channel) ?? "";
      if (!text) return;
      if (channel === "" || channel === "CHANNEL_ASSISTANT_RESPONSE") this.answer(text, out);
      else if (/ANALYSIS|REASONING/.test(channel)) out.push({ type: "reasoning", text, header: false });
      else if (channel.includes("NOTETAKER_HEADER")) out.push({ type: "reasoning", text, header: true });
      return;
    }
    if (isObj(chunk.tool_usage_card)) return void out.push(this.gatewayTool(chunk.tool_usage_card));
    if (isObj(chunk.tool_result)) return void this.gatewayToolResult(chunk.tool_result, out);
    if (isObj(chunk.render_citation)) {
      const url = str(chunk.render_citation.url);
      if (url) this.emit({ type: "citation", url, title: null }, out);
      return;
    }
    if (isObj(chunk.phase_marker) || isObj(chunk.metadata)) return;
    this.unknownFrames++;
  }

  private gatewayTool(card: Obj): GrokEvent {
    let name = "tool";
    let query: string | null = null;
    for (const [k, v] of Object.entries(card)) {
      if (k === "tool_usage_card_id" || !isObj(v)) continue;
      name = k;
      query = str(isObj(v.args) ? v.args.query : undefined) ?? str(v.query);
    }
    const id = str(card.tool_usage_card_id);
    this.openTools.push({ id, name });
    return { type: "tool", id, name, query };
  }

  private gatewayToolResult(res: Obj, out: GrokEvent[]): void {
    let toolId = str(res.tool_call_id);
    const sources: Source[] = [];
    for (const [k, v] of Object.entries(res)) {
      if (!isObj(v)) continue;
      sources.push(...webSources(v.webpages), ...xPostSources(v.posts));
      if (!toolId) {
        // no tool_call_id: correlate with the single unfinished call of that kind
        const open = this.openTools.filter((t) => t.name === k);
        if (open.length === 1) toolId = open[0]!.id;
      }
    }
    this.openTools.splice(0, this.openTools.length, ...this.openTools.filter((t) => t.id !== toolId));
    if (sources.length) out.push({ type: "sources", toolId, sources });
  }

  private grokOutput(o: Obj, out: GrokEvent[]): void {
    if (isObj(o.stream_error)) {
      const e = o.stream_error;
      out.push({ type: "error", error: classifyInStream((e.code as string | number) ?? null, str(e.message) ?? str(e.kind) ?? "") });
    } else if (isObj(o.card_attachment)) {
      this.card(parseJsonData(o.card_attachment.jsonData) ?? o.card_attachment, out);
    } else if (isObj(o.tool_usage_card)) {
      out.push(this.gatewayTool(o.tool_usage_card));
    } else if (isObj(o.tool_result)) {
      const sources = webSources(o.tool_result.web_search_results);
      if (sources.length) out.push({ type: "sources", toolId: null, sources });
    } else this.unknownFrames++;
  }

  // ---------------------------------------------------------------- shared

  /** A card attachment: a generated image chunk, or the URL behind a citation card id. */
  private card(data: Obj | null, out: GrokEvent[], fromFinal = false): void {
    if (!data) return;
    const chunk = isObj(data.image_chunk) ? data.image_chunk : isObj(data.imageChunk) ? data.imageChunk : null;
    if (chunk) {
      const progress = num(chunk.progress) ?? 0;
      const moderated = chunk.moderated === true;
      const errorCode = str(chunk.systemErrCode);
      if (fromFinal) return; // repeats of streamed cards
      const cardUrl = str(chunk.imageUrl) ?? str(chunk.image_url);
      if (cardUrl && !cardUrl.startsWith("data:")) this.imageUrls.add(cardUrl);
      if (moderated && str(chunk.imageUuid)) this.imageUrls.add(`id:${str(chunk.imageUuid)}`);
      out.push({
        type: "image",
        id: str(chunk.imageUuid) ?? str(data.id) ?? "",
        url: str(chunk.imageUrl) ?? str(chunk.image_url),
        progress,
        moderated,
        final: progress >= 100 && !moderated && !errorCode,
        errorCode,
      });
      return;
    }
    const id = str(data.id);
    const url = str(data.url);
    if (id && url) {
      (this.cards ??= new Map<string, string>()).set(id, url);
      if (this.held?.cardId === id) {
        out.push({ type: "citation", url, title: null }, ...this.held.events);
        this.held = null;
      }
    }
  }

  private answer(text: string, out: GrokEvent[]): void {
    this.rawAnswer += text;
    this.sawAnswerDelta = true;
    this.emitPieces(this.markup.push(text), out);
  }

  private emitPieces(pieces: ReturnType<MarkupFilter["push"]>, out: GrokEvent[]): void {
    for (const p of pieces) {
      if (p.kind === "text") this.emit({ type: "text", text: p.text }, out);
      else {
        const url = this.cards?.get(p.cardId);
        if (url) this.emit({ type: "citation", url, title: null }, out);
        else if (!this.held) this.held = { cardId: p.cardId, events: [] };
        // a second unresolved citation while holding is dropped (its card never resolves in order)
      }
    }
  }

  /** Text and citations go behind an unresolved citation while one is pending; others pass. */
  private emit(e: GrokEvent, out: GrokEvent[]): void {
    if (this.held && (e.type === "text" || e.type === "citation")) this.held.events.push(e);
    else out.push(e);
  }
}
