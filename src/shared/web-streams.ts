/** Web-stream helpers shared by the server's HTTP transports and the desktop app's Chromium transport. */

/** A web ReadableStream as an async iterable that stops (and cancels the stream) when `signal` aborts. */
export async function* iterate(stream: ReadableStream<Uint8Array> | null, signal?: AbortSignal): AsyncIterable<Uint8Array> {
  if (!stream) return;
  const reader = stream.getReader();
  const onAbort = () => void reader.cancel().catch(() => {});
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    for (;;) {
      if (signal?.aborted) throw signal.reason ?? new Error("aborted");
      const { value, done } = await reader.read();
      if (done) return;
      if (value) yield value;
    }
  } finally {
    signal?.removeEventListener("abort", onAbort);
    reader.cancel().catch(() => {});
  }
}

/** A whole (small) body in memory, refused past `limit` bytes. */
export async function collect(body: AsyncIterable<Uint8Array>, limit = 8 * 1024 * 1024): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > limit) throw new Error(`upstream body larger than ${limit} bytes`);
    parts.push(chunk);
  }
  // No Buffer here: src/shared is also type-checked for the renderer (DOM libs only).
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
