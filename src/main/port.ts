import type { Server } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * Listens on `port`, or on the next free one when it is taken (up to `tries` ports). Resolves to
 * the port in use. Any error other than "address in use" is thrown as is.
 */
export async function listenWithFallback(server: Server, host: string, port: number, tries = 20): Promise<number> {
  let last: unknown = null;
  const count = port === 0 ? 1 : Math.max(1, tries);
  for (let i = 0; i < count; i++) {
    const p = port === 0 ? 0 : port + i;
    if (p > 65535) break;
    try {
      await new Promise<void>((resolve, reject) => {
        const onError = (err: Error) => {
          server.off("listening", onListening);
          reject(err);
        };
        const onListening = () => {
          server.off("error", onError);
          resolve();
        };
        server.once("error", onError);
        server.once("listening", onListening);
        server.listen(p, host);
      });
      return (server.address() as AddressInfo).port;
    } catch (err) {
      last = err;
      if ((err as NodeJS.ErrnoException).code !== "EADDRINUSE") throw err;
    }
  }
  const e = new Error(`ports ${port}–${port + count - 1} on ${host} are all taken`) as Error & { cause?: unknown; code?: string };
  e.cause = last;
  e.code = "EADDRINUSE";
  throw e;
}
