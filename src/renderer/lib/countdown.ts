/** Time left until `target`, split for display; `done` once it is reached (or when there is no target). */
export interface CountdownParts {
  done: boolean;
  totalMs: number;
  days: number;
  hours: number;
  minutes: number;
  seconds: number;
}

export function countdownParts(target: number | null, now: number): CountdownParts | null {
  if (target === null || !Number.isFinite(target)) return null;
  const totalMs = Math.max(0, target - now);
  const s = Math.ceil(totalMs / 1000);
  return { done: totalMs <= 0, totalMs, days: Math.floor(s / 86400), hours: Math.floor((s % 86400) / 3600), minutes: Math.floor((s % 3600) / 60), seconds: s % 60 };
}

const pad = (n: number) => String(n).padStart(2, "0");

/** "1 d 02:03:04", "02:03:04", "03:04" (under an hour). */
export function clockText(p: CountdownParts): string {
  const hms = p.hours || p.days ? `${pad(p.hours)}:${pad(p.minutes)}:${pad(p.seconds)}` : `${pad(p.minutes)}:${pad(p.seconds)}`;
  return p.days ? `${p.days}d ${hms}` : hms;
}

/** Milliseconds until the display next changes (the next whole second), for a drift-free timer. */
export function nextTickMs(target: number, now: number): number {
  const left = target - now;
  if (left <= 0) return 0;
  const rem = left % 1000;
  return rem === 0 ? 1000 : rem;
}
