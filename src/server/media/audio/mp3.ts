import { resampleLinear } from "./wav.js";

/**
 * MP3 encoding with LAME's pure-JavaScript port (`@breezystack/lamejs`, the maintained ESM fork
 * of lamejs; LGPL-3.0, used unmodified as a separate module, loaded only when mp3 is asked for).
 * Mono constant bitrate; MPEG audio only has the rates below, so any other rate is resampled to 24 kHz.
 */
const MPEG_RATES = [8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000];
export const MP3_KBPS = 64;
const FRAME = 1152;

type Lame = typeof import("@breezystack/lamejs");
let lame: Promise<Lame> | null = null;

export async function encodeMp3(samples: Int16Array, sampleRate: number): Promise<Buffer> {
  lame ??= import("@breezystack/lamejs");
  const { Mp3Encoder } = await lame;
  let rate = sampleRate;
  let input = samples;
  if (!MPEG_RATES.includes(rate)) {
    input = resampleLinear(samples, rate, 24_000);
    rate = 24_000;
  }
  const enc = new Mp3Encoder(1, rate, MP3_KBPS);
  const parts: Buffer[] = [];
  for (let i = 0; i < input.length; i += FRAME) {
    const out = enc.encodeBuffer(input.subarray(i, i + FRAME));
    if (out.length) parts.push(Buffer.from(out)); // a copy: the encoder reuses its output buffer
  }
  const tail = enc.flush();
  if (tail.length) parts.push(Buffer.from(tail));
  return Buffer.concat(parts);
}
