import type { GrokEvent } from "../core/events.js";
import { ProxyError, badRequest } from "../errors.js";
import { failure } from "../grok/classify.js";
import type { GrokAccountRef, GrokClient } from "../grok/client.js";
import { GROK_VOICES, TTS_MODE, ttsChatBody } from "../grok/tts.js";
import { UpstreamError } from "../grok/upstream-error.js";
import type { Pipeline, UpstreamJob } from "../runner/pipeline.js";
import { encodeMp3 } from "./audio/mp3.js";
import { WavError, isWav, parseWav, toInt16Mono, wavToPcm24k } from "./audio/wav.js";

/**
 * `POST /v1/audio/speech` (api-conformance.md §3.2) over grok.com's two-step TTS (§9): the
 * request is validated here, the chat turn and the audio download run as one pipeline job on
 * one leased account (failover before the audio is in, the chat `fast` quota spent), and the
 * WAV grok.com answers is returned as it is (`wav`), as its samples (`pcm`) or encoded (`mp3`).
 * Formats without a pure-JavaScript encoder here (opus, aac, flac) are refused with a 400 that
 * lists the supported ones: never WAV bytes under another format's name.
 */

export const SPEECH_MAX_INPUT = 5000;
export const SPEECH_FORMATS = ["mp3", "wav", "pcm"] as const;
export type SpeechFormat = (typeof SPEECH_FORMATS)[number];
const KNOWN_UNSUPPORTED = ["opus", "aac", "flac"];
/** OpenAI's voice names: accepted and spoken with grok's default voice (clients hard-code `alloy`). */
export const OPENAI_VOICES = ["alloy", "ash", "ballad", "coral", "echo", "fable", "onyx", "nova", "sage", "shimmer", "verse", "marin", "cedar"];

export const CONTENT_TYPES: Record<SpeechFormat, string> = { mp3: "audio/mpeg", wav: "audio/wav", pcm: "audio/pcm" };

export interface SpeechRequest {
  model: string;
  input: string;
  /** grok.com `voiceId`; null = its default (Ara). */
  voiceId: string | null;
  format: SpeechFormat;
  /** Validated (0.25–4) but not applied: grok.com's TTS has no speed control. */
  speed: number;
  streamFormat: "audio" | "sse";
}

type Obj = Record<string, unknown>;

/** The request body → SpeechRequest, or a 400 naming the field. */
export function parseSpeechRequest(body: unknown): SpeechRequest {
  if (!body || typeof body !== "object" || Array.isArray(body)) throw badRequest("The request body must be a JSON object", null, "invalid_request");
  const b = body as Obj;
  if (b.model !== undefined && typeof b.model !== "string") throw badRequest("model must be a string", "model");
  if (b.input === undefined || b.input === null) throw badRequest("input is required: the text to speak", "input", "missing_field");
  if (typeof b.input !== "string") throw badRequest("input must be a string", "input");
  const input = b.input;
  if (!input.trim()) throw badRequest("input is empty: give the text to speak", "input");
  const chars = [...input].length;
  if (chars > SPEECH_MAX_INPUT) throw badRequest(`input is ${chars} characters long; the limit is ${SPEECH_MAX_INPUT} characters`, "input");
  if (b.instructions !== undefined && b.instructions !== null && typeof b.instructions !== "string") throw badRequest("instructions must be a string", "instructions");

  const fmt = b.response_format ?? "mp3";
  if (typeof fmt !== "string") throw badRequest("response_format must be a string", "response_format");
  if (!(SPEECH_FORMATS as readonly string[]).includes(fmt)) {
    const why = KNOWN_UNSUPPORTED.includes(fmt) ? `response_format '${fmt}' is not supported by this proxy (grok.com speaks WAV and no ${fmt} encoder is bundled)` : `response_format '${String(fmt).slice(0, 40)}' is not a speech format`;
    throw badRequest(`${why}; supported: ${SPEECH_FORMATS.join(", ")}`, "response_format");
  }

  let speed = 1;
  if (b.speed !== undefined && b.speed !== null) {
    if (typeof b.speed !== "number" || !Number.isFinite(b.speed)) throw badRequest("speed must be a number between 0.25 and 4", "speed");
    if (b.speed < 0.25 || b.speed > 4) throw badRequest(`speed ${b.speed} is out of range; use 0.25 to 4`, "speed");
    speed = b.speed;
  }
  const sf = b.stream_format ?? "audio";
  if (sf !== "audio" && sf !== "sse") throw badRequest("stream_format must be 'audio' or 'sse'", "stream_format");
  return { model: typeof b.model === "string" ? b.model : "tts-1", input, voiceId: voiceIdOf(b.voice), format: fmt as SpeechFormat, speed, streamFormat: sf };
}

/**
 * `voice` → grok.com voiceId: a grok voice name (Ara, Eve, Leo, Rex, Sal; any case) is used as
 * it is; OpenAI's names and other names map to grok's default voice; `{id}` names a voice
 * explicitly and is sent as it is.
 */
export function voiceIdOf(voice: unknown): string | null {
  if (voice === undefined || voice === null) return null;
  if (typeof voice === "string") {
    const grok = GROK_VOICES.find((v) => v.toLowerCase() === voice.trim().toLowerCase());
    return grok ?? null;
  }
  if (typeof voice === "object" && !Array.isArray(voice) && typeof (voice as Obj).id === "string") {
    const id = ((voice as Obj).id as string).trim();
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) throw badRequest("voice.id must be 1-64 letters, digits, '_' or '-'", "voice");
    return GROK_VOICES.find((v) => v.toLowerCase() === id.toLowerCase()) ?? id;
  }
  throw badRequest("voice must be a voice name or an object {id}", "voice");
}

export interface SpeechDeps {
  pipeline: Pipeline;
  grok: GrokClient;
}

/**
 * The pipeline job: the chat turn's events (so the pipeline sees output and can tell an empty
 * answer), then the audio of that response with the same account, kept in `holder`, then `done`.
 * Buffered: the attempt commits only at `done`, so a missing audio file still fails over.
 */
export function speechJob(grok: GrokClient, req: SpeechRequest, holder: { wav: Uint8Array | null }, requestId: string, signal: AbortSignal): UpstreamJob {
  const call = async function* (acc: GrokAccountRef, sig: AbortSignal): AsyncGenerator<GrokEvent> {
    let responseId: string | null = null;
    let spoke = false;
    for await (const e of grok.postConversation(ttsChatBody(req.input), acc, sig, `${grok.origin}/`)) {
      if (e.type === "done") {
        responseId = e.responseId;
        break;
      }
      if (e.type === "error") {
        yield e;
        return;
      }
      if (e.type === "text" && e.text) spoke = true;
      yield e;
    }
    if (!spoke) return yield { type: "error", error: failure("empty", "grok.com's TTS turn answered no text to speak") };
    if (!responseId) throw new UpstreamError(failure("upstream_error", "grok.com's TTS turn carried no response id"));
    const audio = await grok.readResponseAudio(acc, responseId, { voiceId: req.voiceId, signal: sig });
    if (!isWav(audio)) throw new UpstreamError(failure("upstream_error", `grok.com's audio is not WAV (${audio.length} bytes)`));
    holder.wav = audio;
    yield { type: "done", responseId, status: "completed" };
  };
  return { need: { bucket: TTS_MODE, cost: 1, minTier: "basic", label: `${req.model} (speech)` }, call, buffered: true, requestId, signal };
}

/** Runs the job through the pipeline; resolves to grok.com's WAV bytes, or null when the client went away. */
export async function synthesize(deps: SpeechDeps, req: SpeechRequest, requestId: string, signal: AbortSignal): Promise<Uint8Array | null> {
  const holder: { wav: Uint8Array | null } = { wav: null };
  for await (const e of deps.pipeline.run(speechJob(deps.grok, req, holder, requestId, signal))) {
    if (e.type === "error") throw new ProxyError(502, "upstream_error", `grok.com failed while speaking: ${e.error.message}`, { kind: e.error.kind });
    if (e.type === "done") break;
  }
  if (signal.aborted) return null;
  if (!holder.wav) throw new ProxyError(502, "upstream_error", "grok.com returned no audio");
  return holder.wav;
}

/** grok.com's WAV in the requested format. */
export async function encodeSpeech(wav: Uint8Array, format: SpeechFormat): Promise<Buffer> {
  try {
    switch (format) {
      case "wav":
        parseWav(wav); // must be readable: never pass on something we cannot vouch for
        return Buffer.from(wav);
      case "pcm":
        return wavToPcm24k(wav);
      case "mp3": {
        const w = parseWav(wav);
        return await encodeMp3(toInt16Mono(w), w.sampleRate);
      }
    }
  } catch (err) {
    if (err instanceof WavError) throw new ProxyError(502, "upstream_error", `grok.com's audio could not be read: ${err.message}`);
    throw err;
  }
}
