import { MPEGDecoder } from "mpg123-decoder";
import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { fixtureBytes } from "../fake-grok/index.js";
import { startStack, type Stack } from "../support/stack.js";

/** POST /v1/audio/speech through the official SDK against the fake grok.com (§9 chat + audio file). */

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ accounts: ["basic", "basic"] });
});
afterAll(async () => stack?.close());
beforeEach(() => stack.fake.reset());

const WAV = fixtureBytes("audio.wav");
/** The fixture's 16-bit samples, read independently of the proxy's WAV code (canonical 44-byte header). */
const samples16k = () => {
  expect(WAV.toString("latin1", 36, 40)).toBe("data");
  expect(WAV.readUInt32LE(24)).toBe(16000);
  const n = WAV.readUInt32LE(40) / 2;
  return Array.from({ length: n }, (_, i) => WAV.readInt16LE(44 + i * 2));
};

const audioRequests = () => stack.fake.requests.filter((r) => r.path.startsWith("/http/app-chat/read-response-audio-file/"));
const chatRequests = () => stack.fake.requests.filter((r) => r.path === "/rest/app-chat/conversations/new");
const bytesOf = async (r: Response) => Buffer.from(await r.arrayBuffer());

describe("audio.speech.create", () => {
  it("wav: exactly the bytes grok.com served, from the account that made the response", async () => {
    const res = await stack.openai.audio.speech.create({ model: "tts-1", voice: "alloy", input: "Hello there, this is a test.", response_format: "wav" });
    expect(res.headers.get("content-type")).toBe("audio/wav");
    expect((await bytesOf(res)).equals(WAV)).toBe(true);
    const chats = chatRequests();
    const audio = audioRequests();
    expect(chats).toHaveLength(1);
    expect(audio).toHaveLength(1);
    expect(audio[0]!.account).toBe(chats[0]!.account);
    const body = chats[0]!.body as Record<string, unknown>;
    expect(body.message).toContain("Hello there, this is a test.");
    expect(body).toMatchObject({ temporary: true, disableSearch: true, enableImageGeneration: false, forceConcise: true, disableMemory: true });
    expect(audio[0]!.headers.referer).toBe(`${stack.fake.url}/`);
    expect(audio[0]!.headers.accept).toBe("audio/wav,audio/*,*/*");
    expect(audio[0]!.headers.range).toBe("bytes=0-");
    expect(audio[0]!.query.voiceId).toBeUndefined(); // OpenAI voice names → grok's default voice
  });

  it("pcm: the WAV's samples as 24 kHz 16-bit mono without a header (16 kHz source: every third sample is a source sample)", async () => {
    const res = await stack.openai.audio.speech.create({ model: "tts-1", voice: "nova", input: "pcm please", response_format: "pcm" });
    expect(res.headers.get("content-type")).toBe("audio/pcm");
    const pcm = await bytesOf(res);
    const src = samples16k();
    expect(pcm.length).toBe(Math.floor((src.length * 24000) / 16000) * 2);
    expect(pcm.subarray(0, 4).toString("latin1")).not.toBe("RIFF");
    const out = Array.from({ length: pcm.length / 2 }, (_, i) => pcm.readInt16LE(i * 2));
    for (let k = 0; 3 * k < out.length; k++) expect(out[3 * k]).toBe(src[2 * k]);
    // in between: linear interpolation at 2/3 and 4/3 of a source step
    for (let k = 0; 3 * k + 2 < out.length && 2 * k + 2 < src.length; k++) {
      expect(out[3 * k + 1]).toBe(Math.round(src[2 * k]! + ((src[2 * k + 1]! - src[2 * k]!) * 2) / 3) || 0);
      expect(out[3 * k + 2]).toBe(Math.round(src[2 * k + 1]! + ((src[2 * k + 2]! - src[2 * k + 1]!) * 1) / 3) || 0);
    }
  });

  it("mp3 (also the default format): a decodable MPEG stream of the same sound", async () => {
    for (const format of ["mp3", undefined] as const) {
      const res = await stack.openai.audio.speech.create({ model: "gpt-4o-mini-tts", voice: "alloy", input: "mp3 please", ...(format ? { response_format: format } : {}) });
      expect(res.headers.get("content-type")).toBe("audio/mpeg");
      const mp3 = await bytesOf(res);
      expect(mp3[0]).toBe(0xff); // an MPEG frame sync, not a RIFF header
      expect(mp3[1]! & 0xe0).toBe(0xe0);
      const dec = new MPEGDecoder();
      await dec.ready;
      const out = dec.decode(new Uint8Array(mp3));
      dec.free();
      expect(out.errors).toEqual([]);
      expect(out.sampleRate).toBe(16000);
      const src = samples16k().map((v) => v / 32768);
      const ch = out.channelData[0]!;
      expect(ch.length).toBeGreaterThanOrEqual(src.length);
      // the decoded signal is the source, delayed by the codec: find the lag, then correlate
      let best = 0;
      for (let lag = 0; lag < 2000; lag++) {
        let xy = 0, xx = 0, yy = 0;
        for (let i = 0; i < src.length - 2000; i++) {
          const x = src[i]!, y = ch[i + lag] ?? 0;
          xy += x * y;
          xx += x * x;
          yy += y * y;
        }
        best = Math.max(best, xy / Math.sqrt(xx * yy || 1));
      }
      expect(best).toBeGreaterThan(0.95);
    }
  });

  it("stream_format sse: speech.audio.delta chunks that join to the audio, then speech.audio.done with usage", async () => {
    const res = await fetch(`${stack.url}/v1/audio/speech`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "tts-1", voice: "alloy", input: "sse", response_format: "wav", stream_format: "sse" }) });
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const events = (await res.text()).split("\n\n").filter(Boolean).map((b) => JSON.parse(b.replace(/^data: /, "")));
    expect(events.at(-1)).toMatchObject({ type: "speech.audio.done", usage: { input_tokens: expect.any(Number), total_tokens: expect.any(Number) } });
    const joined = Buffer.concat(events.slice(0, -1).map((e) => (expect(e.type).toBe("speech.audio.delta"), Buffer.from(e.audio, "base64"))));
    expect(joined.equals(WAV)).toBe(true);
  });

  it("voice: grok voice names and {id} are sent as voiceId; speed is validated and accepted", async () => {
    await stack.openai.audio.speech.create({ model: "tts-1", voice: "eve", input: "one", response_format: "wav" });
    await stack.openai.audio.speech.create({ model: "tts-1", voice: { id: "Rex" } as never, input: "two", response_format: "wav" });
    const res = await stack.openai.audio.speech.create({ model: "tts-1", voice: "alloy", input: "three", response_format: "wav", speed: 1.5 });
    expect(res.headers.get("x-grok2api-note")).toMatch(/speed 1\.5 is not supported/);
    expect(audioRequests().map((r) => r.query.voiceId)).toEqual(["Eve", "Rex", undefined]);
    for (const speed of [0.1, 4.5]) {
      const err = await stack.openai.audio.speech.create({ model: "tts-1", voice: "alloy", input: "x", speed }).catch((e) => e);
      expect(err).toBeInstanceOf(OpenAI.BadRequestError);
      expect(err.error).toMatchObject({ param: "speed", type: "invalid_request_error" });
    }
  });

  it("fails over to another account before the audio is in; the answering account's fast quota is spent", async () => {
    const quota = () => Object.fromEntries(stack.accounts.map((a) => [a.sso, stack.fake.account(a.sso)!.quota.fast!.remaining]));
    const before = quota();
    stack.fake.queue("*", "http-429"); // the first turn, whichever account is leased, is rate-limited
    const res = await stack.openai.audio.speech.create({ model: "tts-1", voice: "alloy", input: "failover", response_format: "wav" });
    expect((await bytesOf(res)).equals(WAV)).toBe(true);
    const chats = chatRequests();
    expect(chats).toHaveLength(2);
    expect(chats[0]!.account).not.toBe(chats[1]!.account);
    expect(audioRequests().map((r) => r.account)).toEqual([chats[1]!.account]);
    const after = quota();
    expect(after[chats[1]!.account!]).toBe(before[chats[1]!.account!]! - 1);
    expect(after[chats[0]!.account!]).toBe(before[chats[0]!.account!]);
  });
});

describe("speech input limits and formats", () => {
  const bad = async (body: Record<string, unknown>) => {
    const res = await fetch(`${stack.url}/v1/audio/speech`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "tts-1", voice: "alloy", ...body }) });
    return { status: res.status, body: (await res.json()) as { error: { message: string; param: string | null; type: string } } };
  };

  it("input up to 5000 characters; longer is a 400 naming the limit, before any upstream call", async () => {
    const long = await bad({ input: "é".repeat(5001), response_format: "wav" });
    expect(long.status).toBe(400);
    expect(long.body.error.param).toBe("input");
    expect(long.body.error.message).toContain("5000");
    expect((await bad({ input: "" })).body.error.param).toBe("input");
    expect((await bad({})).body.error.param).toBe("input");
    expect(chatRequests()).toHaveLength(0);
    const ok = await stack.openai.audio.speech.create({ model: "tts-1", voice: "alloy", input: "😀".repeat(5000), response_format: "wav" });
    expect((await bytesOf(ok)).equals(WAV)).toBe(true);
  });

  it("opus, aac and flac are refused with a 400 listing the supported formats (never WAV under their name)", async () => {
    for (const format of ["opus", "aac", "flac"] as const) {
      const err = await stack.openai.audio.speech.create({ model: "tts-1", voice: "alloy", input: "x", response_format: format }).catch((e) => e);
      expect(err).toBeInstanceOf(OpenAI.BadRequestError);
      expect(err.error.param).toBe("response_format");
      expect(err.error.message).toContain("supported: mp3, wav, pcm");
    }
    expect((await bad({ input: "x", response_format: "ogg" })).status).toBe(400);
    expect(chatRequests()).toHaveLength(0);
  });

  it("answers without the /v1 prefix too", async () => {
    const res = await fetch(`${stack.url}/audio/speech`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "tts-1", voice: "alloy", input: "no prefix", response_format: "wav" }) });
    expect(res.status).toBe(200);
    expect((await bytesOf(res)).equals(WAV)).toBe(true);
  });
});
