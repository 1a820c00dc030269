// Preloaded (`node --import`) by startup.test.ts into a server child: records every module URL
// the process resolves (ES imports and require alike) and prints the list to stderr on SIGUSR2.
import { registerHooks } from "node:module";

const seen = new Set();
registerHooks({
  resolve(specifier, context, nextResolve) {
    const r = nextResolve(specifier, context);
    seen.add(r.url);
    return r;
  },
});
process.on("SIGUSR2", () => process.stderr.write(`loaded-modules ${JSON.stringify([...seen])}\n`));
