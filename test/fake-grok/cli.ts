/**
 * Standalone fake grok.com:
 *   node --import tsx test/fake-grok/cli.ts [--port N] [--accounts N] [--tier basic|super|heavy] [--default <scenario>]
 * Prints one JSON line {url, assetsUrl, signerUrl, gatewayUrl, control, accounts:[{sso,userId,tier}]} and runs until SIGINT.
 * Drive it through http://…/__control/ (see README.md).
 */
import { isScenarioName } from "./scenarios.js";
import { startFakeGrok } from "./server.js";
import type { Tier } from "./types.js";

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0) return process.argv[i + 1];
  const eq = process.argv.find((a) => a.startsWith(`--${name}=`));
  return eq?.slice(name.length + 3);
}

const port = Number(arg("port") ?? "0");
const count = Number(arg("accounts") ?? "1");
const tier = (arg("tier") ?? "super") as Tier;
if (!Number.isInteger(port) || port < 0 || !Number.isInteger(count) || count < 0 || !["basic", "super", "heavy"].includes(tier)) {
  console.error("usage: cli.ts [--port N] [--accounts N] [--tier basic|super|heavy] [--default <scenario>]");
  process.exit(2);
}

const fake = await startFakeGrok({ port });
const scenario = arg("default");
if (scenario) {
  if (!isScenarioName(scenario)) {
    console.error(`unknown scenario ${scenario}`);
    process.exit(2);
  }
  fake.setDefault(scenario);
}
const accounts = Array.from({ length: count }, () => fake.addAccount({ tier }));
process.stdout.write(
  JSON.stringify({
    url: fake.url,
    assetsUrl: fake.assetsUrl,
    signerUrl: fake.signerUrl,
    gatewayUrl: `${fake.url.replace(/^http/, "ws")}/ws/mgw/`,
    control: `${fake.url}/__control/`,
    accounts,
  }) + "\n",
);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await fake.close();
  process.exit(0);
};
process.on("SIGINT", () => void stop());
process.on("SIGTERM", () => void stop());
