import { useEffect, useState } from "react";
import { clockText, countdownParts, nextTickMs } from "../lib/countdown";
import { formatTime } from "../lib/format";
import { useI18n } from "../i18n";

/**
 * Counts down to `target` once a second (re-aligned to whole seconds, so it never drifts),
 * shows the clock time it ends at, and calls onDone once when it reaches zero.
 */
export function Countdown({ target, onDone, now: nowFn = Date.now }: { target: number; onDone?: () => void; now?: () => number }) {
  const { t, locale } = useI18n();
  const [now, setNow] = useState(nowFn);
  useEffect(() => {
    setNow(nowFn());
  }, [target, nowFn]);
  useEffect(() => {
    const left = target - now;
    if (left <= 0) {
      onDone?.();
      return;
    }
    const id = setTimeout(() => setNow(nowFn()), nextTickMs(target, now));
    return () => clearTimeout(id);
    // onDone is read when it fires; re-arming on every render would not change that
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [target, now, nowFn]);
  const p = countdownParts(target, now)!;
  return (
    <span className="countdown">
      <time dateTime={new Date(target).toISOString()} className="countdown-clock" aria-live="off">
        {p.done ? t("time.now") : clockText(p)}
      </time>
      <span className="muted countdown-at"> · {formatTime(target, locale)}</span>
    </span>
  );
}
