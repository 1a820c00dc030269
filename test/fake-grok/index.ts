/**
 * Fake grok.com for tests: REST NDJSON chat, the /ws/mgw/ gateway, Imagine WebSocket, uploads,
 * assets, quota endpoints and a statsig signer stand-in, all on loopback. See README.md.
 */
export type {
  FakeAccount, FakeAccountOptions, FakeGrok, FakeGrokOptions, Framing, QuotaEntry, RecordedRequest, Scenario, ScenarioName, SessionState, Tier,
} from "./types.js";
export { startFakeGrok } from "./server.js";
export {
  DEFAULT_REASONING, DEFAULT_TEXT, MARKUP_PLAIN_TEXT, MARKUP_TEXT, SEARCH_QUERY, SEARCH_SOURCES, SLOW_DELAY_MS, SPLIT_UTF8_TEXT,
  THINKING_HEADER, stripMarkup, tokenize,
} from "./text.js";
export { SCENARIO_NAMES, HTTP_FAILURE_SCENARIOS } from "./scenarios.js";
export { META_CONTENT, META_NAME, signStatsig } from "./site.js";
export { ANTI_BOT_MESSAGE, BLOCKED_MESSAGE, USAGE_LIMIT_MESSAGE } from "./errors.js";
export { IMAGINE_FILE_SOURCE } from "./uploads.js";
export { FIXTURE_DIR, fixtureBytes, loadGateway, loadRest } from "./fixtures.js";
