/**
 * Runs the fake grok.com in its own process for benchmarks: N accounts with effectively
 * unlimited quota and a default scenario with a long answer. Prints one JSON line, then serves
 * until killed.
 */
import { startFakeGrok } from "../../test/fake-grok/index.js";

const accounts = Number(process.argv[2] ?? "10");
const words = Number(process.argv[3] ?? "1000");
const fake = await startFakeGrok();
const text = Array.from({ length: words }, (_, i) => `word${i % 100}`).join(" ");
fake.setDefault({ name: "text", text });
const list = [];
for (let i = 0; i < accounts; i++) {
  const a = fake.addAccount({ tier: "super" });
  for (const mode of ["fast", "auto", "expert"]) fake.setQuota(a.sso, mode, { remaining: 1e9, total: 1e9, windowSeconds: 86400 });
  list.push(a);
}
process.stdout.write(JSON.stringify({ url: fake.url, assetsUrl: fake.assetsUrl, accounts: list, text }) + "\n");
// keep the request log from growing without bound during long runs
setInterval(() => fake.requests.splice(0, fake.requests.length), 1000).unref();
process.on("SIGTERM", () => void fake.close().then(() => process.exit(0)));
