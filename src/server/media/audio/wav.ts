/**
 * WAV (RIFF/WAVE) reading and writing, and the conversion to OpenAI's `pcm` format: raw
 * signed 16-bit little-endian mono samples at 24 kHz, no header (api-conformance.md §3.2).
 * Pure functions over bytes; nothing here knows grok.com.
 */

export const PCM_RATE = 24_000;

export interface WavInfo {
  /** 1 = integer PCM, 3 = IEEE float (WAVE_FORMAT_EXTENSIBLE is resolved to its sub-format). */
  format: 1 | 3;
  channels: number;
  sampleRate: number;
  bitsPerSample: number;
  /** The bytes of the `data` chunk. */
  data: Uint8Array;
}

export class WavError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WavError";
  }
}

const ascii = (b: Uint8Array, at: number) => String.fromCharCode(b[at]!, b[at + 1]!, b[at + 2]!, b[at + 3]!);

/** True when the bytes start like a RIFF/WAVE file. */
export function isWav(b: Uint8Array): boolean {
  return b.length >= 12 && ascii(b, 0) === "RIFF" && ascii(b, 8) === "WAVE";
}

/**
 * Parses the `fmt ` and `data` chunks. A data chunk whose declared size runs past the end (a
 * streamed WAV with a placeholder size) is cut to the bytes present; an odd trailing byte is dropped.
 */
export function parseWav(bytes: Uint8Array): WavInfo {
  if (!isWav(bytes)) throw new WavError("not a RIFF/WAVE file");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let fmt: Omit<WavInfo, "data"> | null = null;
  let at = 12;
  while (at + 8 <= bytes.length) {
    const id = ascii(bytes, at);
    const size = view.getUint32(at + 4, true);
    const body = at + 8;
    if (id === "fmt ") {
      if (size < 16 || body + 16 > bytes.length) throw new WavError("fmt chunk too short");
      let format = view.getUint16(body, true);
      const channels = view.getUint16(body + 2, true);
      const sampleRate = view.getUint32(body + 4, true);
      const bitsPerSample = view.getUint16(body + 14, true);
      if (format === 0xfffe && size >= 40 && body + 26 <= bytes.length) format = view.getUint16(body + 24, true); // WAVE_FORMAT_EXTENSIBLE sub-format GUID's first two bytes
      if (format !== 1 && format !== 3) throw new WavError(`unsupported WAV encoding ${format} (only PCM and IEEE float)`);
      if (channels < 1 || channels > 8) throw new WavError(`unsupported channel count ${channels}`);
      if (sampleRate < 1000 || sampleRate > 384_000) throw new WavError(`unsupported sample rate ${sampleRate}`);
      const okBits = format === 1 ? [8, 16, 24, 32] : [32, 64];
      if (!okBits.includes(bitsPerSample)) throw new WavError(`unsupported sample size ${bitsPerSample} bits`);
      fmt = { format, channels, sampleRate, bitsPerSample };
    } else if (id === "data") {
      if (!fmt) throw new WavError("data chunk before the fmt chunk");
      const frame = (fmt.bitsPerSample / 8) * fmt.channels;
      let len = Math.min(size, bytes.length - body);
      len -= len % frame;
      return { ...fmt, data: bytes.subarray(body, body + len) };
    }
    at = body + size + (size & 1); // chunks are word-aligned
  }
  throw new WavError(fmt ? "no data chunk" : "no fmt chunk");
}

/** The samples as mono float in [-1, 1] (channels averaged). */
export function toMonoFloat(w: WavInfo): Float64Array {
  const bytesPer = w.bitsPerSample / 8;
  const frames = w.data.length / (bytesPer * w.channels);
  const view = new DataView(w.data.buffer, w.data.byteOffset, w.data.byteLength);
  const out = new Float64Array(frames);
  for (let i = 0; i < frames; i++) {
    let sum = 0;
    for (let c = 0; c < w.channels; c++) {
      const at = (i * w.channels + c) * bytesPer;
      sum += sampleAt(view, at, w.format, w.bitsPerSample);
    }
    out[i] = sum / w.channels;
  }
  return out;
}

function sampleAt(view: DataView, at: number, format: 1 | 3, bits: number): number {
  if (format === 3) return bits === 32 ? view.getFloat32(at, true) : view.getFloat64(at, true);
  switch (bits) {
    case 8:
      return (view.getUint8(at) - 128) / 128;
    case 16:
      return view.getInt16(at, true) / 32768;
    case 24: {
      const v = view.getUint8(at) | (view.getUint8(at + 1) << 8) | (view.getInt8(at + 2) << 16);
      return v / 8388608;
    }
    default:
      return view.getInt32(at, true) / 2147483648;
  }
}

/** Mono 16-bit samples of the WAV at its own rate: the data chunk itself when it already is 16-bit mono. */
export function toInt16Mono(w: WavInfo): Int16Array {
  if (w.format === 1 && w.bitsPerSample === 16 && w.channels === 1) {
    const copy = new Uint8Array(w.data); // aligned copy
    return new Int16Array(copy.buffer, 0, copy.length / 2);
  }
  const f = toMonoFloat(w);
  const out = new Int16Array(f.length);
  for (let i = 0; i < f.length; i++) out[i] = clamp16(f[i]! * 32768);
  return out;
}

const clamp16 = (v: number) => (v >= 32767 ? 32767 : v <= -32768 ? -32768 : Math.round(v));

/**
 * Linear-interpolation resampling of 16-bit mono samples. Output sample j sits at input position
 * j·from/to, so wherever that position is a whole number the input sample is copied exactly
 * (16 kHz → 24 kHz: every third output sample is an input sample).
 */
export function resampleLinear(input: Int16Array, from: number, to: number): Int16Array {
  if (from === to) return input;
  const n = Math.floor((input.length * to) / from);
  const out = new Int16Array(n);
  const last = input.length - 1;
  for (let j = 0; j < n; j++) {
    // exact rational position: j*from/to = k + r/to
    const num = j * from;
    const k = Math.floor(num / to);
    const r = num - k * to;
    if (r === 0 || k >= last) out[j] = input[Math.min(k, last)]!;
    else out[j] = clamp16(input[k]! + ((input[k + 1]! - input[k]!) * r) / to);
  }
  return out;
}

/** OpenAI `pcm`: the WAV's samples as 24 kHz signed 16-bit little-endian mono, no header. */
export function wavToPcm24k(bytes: Uint8Array): Buffer {
  const w = parseWav(bytes);
  if (w.format === 1 && w.bitsPerSample === 16 && w.channels === 1 && w.sampleRate === PCM_RATE) return Buffer.from(w.data); // already exactly pcm
  const samples = resampleLinear(toInt16Mono(w), w.sampleRate, PCM_RATE);
  return int16ToBytes(samples);
}

export function int16ToBytes(samples: Int16Array): Buffer {
  const out = Buffer.alloc(samples.length * 2);
  for (let i = 0; i < samples.length; i++) out.writeInt16LE(samples[i]!, i * 2);
  return out;
}

/** A canonical 44-byte-header PCM WAV. */
export function writeWav(samples: Int16Array, sampleRate: number, channels = 1): Buffer {
  const data = int16ToBytes(samples);
  const h = Buffer.alloc(44);
  h.write("RIFF", 0, "latin1");
  h.writeUInt32LE(36 + data.length, 4);
  h.write("WAVE", 8, "latin1");
  h.write("fmt ", 12, "latin1");
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(channels, 22);
  h.writeUInt32LE(sampleRate, 24);
  h.writeUInt32LE(sampleRate * channels * 2, 28);
  h.writeUInt16LE(channels * 2, 32);
  h.writeUInt16LE(16, 34);
  h.write("data", 36, "latin1");
  h.writeUInt32LE(data.length, 40);
  return Buffer.concat([h, data]);
}
