import { MPEGDecoder } from "mpg123-decoder";
import { describe, expect, it } from "vitest";
import { encodeMp3 } from "../../src/server/media/audio/mp3.js";
import { WavError, parseWav, resampleLinear, toInt16Mono, wavToPcm24k, writeWav } from "../../src/server/media/audio/wav.js";

/** The WAV → pcm / mp3 helpers of /v1/audio/speech on WAVs made here (other rates, channels, sizes, headers). */

/** A WAV with any header fields, built byte by byte (independent of writeWav). */
function wav(opts: { format?: number; channels: number; rate: number; bits: number; data: Buffer; extraChunk?: boolean; extensible?: boolean; declaredData?: number }): Buffer {
  const fmtLen = opts.extensible ? 40 : 16;
  const fmt = Buffer.alloc(8 + fmtLen);
  fmt.write("fmt ", 0, "latin1");
  fmt.writeUInt32LE(fmtLen, 4);
  fmt.writeUInt16LE(opts.extensible ? 0xfffe : (opts.format ?? 1), 8);
  fmt.writeUInt16LE(opts.channels, 10);
  fmt.writeUInt32LE(opts.rate, 12);
  fmt.writeUInt32LE((opts.rate * opts.channels * opts.bits) / 8, 16);
  fmt.writeUInt16LE((opts.channels * opts.bits) / 8, 20);
  fmt.writeUInt16LE(opts.bits, 22);
  if (opts.extensible) {
    fmt.writeUInt16LE(22, 24);
    fmt.writeUInt16LE(opts.bits, 26);
    fmt.writeUInt16LE(opts.format ?? 1, 32); // sub-format GUID starts with the format code
  }
  const list = opts.extraChunk ? Buffer.concat([Buffer.from("LIST"), Buffer.from([3, 0, 0, 0]), Buffer.from("abc\0")]) : Buffer.alloc(0); // odd size, padded
  const dataHead = Buffer.alloc(8);
  dataHead.write("data", 0, "latin1");
  dataHead.writeUInt32LE(opts.declaredData ?? opts.data.length, 4);
  const body = Buffer.concat([Buffer.from("WAVE"), fmt, list, dataHead, opts.data]);
  const riff = Buffer.alloc(8);
  riff.write("RIFF", 0, "latin1");
  riff.writeUInt32LE(body.length, 4);
  return Buffer.concat([riff, body]);
}

const s16 = (vals: number[]) => {
  const b = Buffer.alloc(vals.length * 2);
  vals.forEach((v, i) => b.writeInt16LE(v, i * 2));
  return b;
};
const readS16 = (b: Buffer) => Array.from({ length: b.length / 2 }, (_, i) => b.readInt16LE(i * 2));

describe("wav → pcm (24 kHz s16le mono)", () => {
  it("a 24 kHz 16-bit mono WAV: the data chunk byte for byte (after a LIST chunk with padding too)", () => {
    const data = s16([0, 1, -1, 32767, -32768, 1234]);
    expect(wavToPcm24k(wav({ channels: 1, rate: 24000, bits: 16, data, extraChunk: true })).equals(data)).toBe(true);
  });

  it("stereo is averaged, 8/24-bit and float samples are scaled, other rates resampled", () => {
    const stereo = s16([100, 300, -200, -400]);
    expect(readS16(wavToPcm24k(wav({ channels: 2, rate: 24000, bits: 16, data: stereo })))).toEqual([200, -300]);
    const u8 = Buffer.from([128, 255, 0]);
    expect(readS16(wavToPcm24k(wav({ channels: 1, rate: 24000, bits: 8, data: u8 })))).toEqual([0, 32512, -32768]);
    const s24 = Buffer.from([0x00, 0x00, 0x40, 0x00, 0x00, 0xc0]); // +0.5, -0.5
    expect(readS16(wavToPcm24k(wav({ channels: 1, rate: 24000, bits: 24, data: s24 })))).toEqual([16384, -16384]);
    const f32 = Buffer.alloc(8);
    f32.writeFloatLE(0.25, 0);
    f32.writeFloatLE(-1, 4);
    expect(readS16(wavToPcm24k(wav({ format: 3, channels: 1, rate: 24000, bits: 32, data: f32, extensible: true })))).toEqual([8192, -32768]);
    // 48 kHz → 24 kHz keeps every second sample exactly
    const hi = s16([10, 20, 30, 40, 50, 60]);
    expect(readS16(wavToPcm24k(wav({ channels: 1, rate: 48000, bits: 16, data: hi })))).toEqual([10, 30, 50]);
  });

  it("a streamed WAV whose data size runs past the end is read to the bytes present; garbage is a WavError", () => {
    const data = s16([5, 6, 7]);
    const w = wav({ channels: 1, rate: 24000, bits: 16, data: Buffer.concat([data, Buffer.from([9])]), declaredData: 0xffffffff });
    expect(readS16(wavToPcm24k(w))).toEqual([5, 6, 7]);
    expect(() => parseWav(Buffer.from("ID3\x03not a wav at all"))).toThrow(WavError);
    expect(() => parseWav(wav({ format: 2, channels: 1, rate: 24000, bits: 16, data }))).toThrow(/unsupported WAV encoding/);
    expect(() => parseWav(Buffer.from("RIFF\x04\x00\x00\x00WAVE"))).toThrow(/no fmt chunk/);
  });

  it("resampling is exact wherever an output sample falls on an input sample", () => {
    const input = Int16Array.from({ length: 1000 }, (_, i) => Math.round(10000 * Math.sin(i / 7)));
    const out = resampleLinear(input, 16000, 24000);
    expect(out.length).toBe(1500);
    for (let k = 0; k < 500; k++) expect(out[3 * k]).toBe(input[2 * k]);
    const back = resampleLinear(out, 24000, 16000);
    expect(back.length).toBe(1000);
    for (let k = 0; k < 500; k++) expect(back[2 * k]).toBe(input[2 * k]); // 24 → 16 kHz lands on every second sample
    expect(resampleLinear(input, 16000, 16000)).toBe(input);
  });
});

describe("mp3", () => {
  it("encodes any rate as decodable MPEG audio (a non-MPEG rate is resampled to 24 kHz)", async () => {
    for (const rate of [16000, 44100, 17000]) {
      const n = rate; // one second
      const samples = Int16Array.from({ length: n }, (_, i) => Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / rate)));
      const mp3 = await encodeMp3(toInt16Mono(parseWav(writeWav(samples, rate))), rate);
      const dec = new MPEGDecoder();
      await dec.ready;
      const out = dec.decode(new Uint8Array(mp3));
      dec.free();
      expect(out.errors).toEqual([]);
      expect(out.sampleRate).toBe(rate === 17000 ? 24000 : rate);
      const seconds = out.samplesDecoded / out.sampleRate;
      expect(seconds).toBeGreaterThan(0.95);
      expect(seconds).toBeLessThan(1.2);
      // a 440 Hz tone: count zero crossings in the middle of the decoded signal
      const ch = out.channelData[0]!;
      const mid = ch.subarray(Math.floor(ch.length * 0.25), Math.floor(ch.length * 0.75));
      let crossings = 0;
      for (let i = 1; i < mid.length; i++) if (mid[i - 1]! < 0 !== mid[i]! < 0) crossings++;
      const hz = crossings / 2 / (mid.length / out.sampleRate);
      expect(Math.abs(hz - 440)).toBeLessThan(15);
    }
  });
});
