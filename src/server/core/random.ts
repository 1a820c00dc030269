import { randomBytes, randomFillSync } from "node:crypto";

/**
 * Cryptographically random bytes for ids and the like, from the same CSPRNG as `randomBytes`,
 * taken from a 4 KiB pool refilled in one call: `randomBytes(12)` per id cost one OpenSSL call
 * each (~4 µs; profiled at several % of a short chat's proxy CPU), the pool one per ~300 ids.
 * Every byte is handed out once.
 */
const POOL_SIZE = 4096;
const pool = Buffer.allocUnsafe(POOL_SIZE);
let pos = POOL_SIZE;

function take(n: number): number {
  if (pos + n > POOL_SIZE) {
    randomFillSync(pool);
    pos = 0;
  }
  const at = pos;
  pos += n;
  return at;
}

/** `n` random bytes as text (`randomBytes(n).toString(encoding)`). */
export function randomText(n: number, encoding: "hex" | "base64url" | "base64"): string {
  if (n > POOL_SIZE) return randomBytes(n).toString(encoding);
  const at = take(n);
  return pool.toString(encoding, at, at + n);
}

/** `n` random bytes (a copy: the caller may keep it). */
export function randomBytesPooled(n: number): Buffer {
  if (n > POOL_SIZE) return randomBytes(n);
  const at = take(n);
  return Buffer.from(pool.subarray(at, at + n));
}

/** A uniform integer in [0, n) for 1 ≤ n ≤ 256 (`crypto.randomInt(n)`), by rejection sampling of single bytes. */
export function randomIndex(n: number): number {
  if (!(n >= 1 && n <= 256 && Number.isInteger(n))) throw new RangeError(`randomIndex: n must be an integer in 1..256, got ${n}`);
  const limit = 256 - (256 % n);
  for (;;) {
    const b = pool[take(1)]!;
    if (b < limit) return b % n;
  }
}
