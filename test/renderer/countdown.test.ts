// @vitest-environment happy-dom
import { createElement } from "react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Countdown } from "../../src/renderer/components/Countdown";
import { clockText, countdownParts, nextTickMs } from "../../src/renderer/lib/countdown";
import { act, render } from "./render";

describe("countdown logic", () => {
  it("splits the time left and formats it as a clock", () => {
    const p = countdownParts(1_000 + (2 * 3600 + 3 * 60 + 4) * 1000, 1_000)!;
    expect(p).toMatchObject({ done: false, days: 0, hours: 2, minutes: 3, seconds: 4 });
    expect(clockText(p)).toBe("02:03:04");
    expect(clockText(countdownParts(65_000, 0)!)).toBe("01:05");
    expect(clockText(countdownParts((86400 + 61) * 1000, 0)!)).toBe("1d 00:01:01");
    // partial seconds round up: 1.2 s left still shows 00:02 until the next whole second
    expect(clockText(countdownParts(1_200, 0)!)).toBe("00:02");
  });
  it("is done at and after the target, and absent without one", () => {
    expect(countdownParts(5_000, 5_000)).toMatchObject({ done: true, totalMs: 0 });
    expect(countdownParts(5_000, 9_000)).toMatchObject({ done: true, totalMs: 0, seconds: 0 });
    expect(countdownParts(null, 0)).toBeNull();
    expect(countdownParts(Number.NaN, 0)).toBeNull();
  });
  it("schedules the next tick at the next whole second of the time left", () => {
    expect(nextTickMs(10_000, 8_700)).toBe(300);
    expect(nextTickMs(10_000, 8_000)).toBe(1000);
    expect(nextTickMs(10_000, 10_000)).toBe(0);
  });
});

describe("<Countdown>", () => {
  let now = 0;
  let cleanup: (() => void) | undefined;
  beforeEach(() => {
    vi.useFakeTimers();
    now = 1_000_000;
  });
  afterEach(() => {
    cleanup?.();
    vi.useRealTimers();
  });
  const clock = () => document.querySelector(".countdown-clock")!.textContent;

  it("ticks down once a second and calls onDone once at zero", async () => {
    const onDone = vi.fn();
    const nowFn = () => now;
    const r = render(createElement(Countdown, { target: now + 3_500, onDone, now: nowFn }));
    cleanup = r.unmount;
    expect(clock()).toBe("00:04");
    const advance = async (ms: number) => {
      now += ms;
      await act(async () => {
        vi.advanceTimersByTime(ms);
      });
    };
    await advance(500);
    expect(clock()).toBe("00:03");
    await advance(1000);
    expect(clock()).toBe("00:02");
    await advance(2000);
    expect(clock()).toBe("now");
    expect(onDone).toHaveBeenCalledTimes(1);
    await advance(5000);
    expect(onDone).toHaveBeenCalledTimes(1);
    expect(document.querySelector("time")!.getAttribute("datetime")).toBe(new Date(1_003_500).toISOString());
  });

  it("restarts when the target moves", async () => {
    const nowFn = () => now;
    const r = render(createElement(Countdown, { target: now + 10_000, now: nowFn }));
    cleanup = r.unmount;
    expect(clock()).toBe("00:10");
    await r.rerender(createElement(Countdown, { target: now + 3_600_000, now: nowFn }));
    expect(clock()).toBe("01:00:00");
  });
});
