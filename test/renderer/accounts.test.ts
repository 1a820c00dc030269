import { describe, expect, it } from "vitest";
import type { TokenInfo } from "../../src/shared/admin-api";
import { EMPTY_FILTER, filterAccounts, parseCookies, parseTags, sortAccounts } from "../../src/renderer/lib/accounts";
import { maskToken } from "../../src/renderer/lib/format";
import { pageFromHash, safeNext } from "../../src/renderer/lib/router";

const acc = (token: string, p: Partial<TokenInfo> = {}): TokenInfo =>
  ({ token, state: "active", tier: "basic", tags: [], note: "", created_time: 0, last_used: null, fail_count: 0, quota: {}, ...p }) as TokenInfo;

describe("accounts list logic", () => {
  it("parses pasted cookies: sso= and attributes stripped, blanks and duplicates dropped", () => {
    expect(parseCookies("abc\n\n  sso=def; Path=/; Secure \r\nabc\nfoo=1; sso=ghi; bar=2\n")).toEqual(["abc", "def", "ghi"]);
  });
  it("masks: never the whole cookie", () => {
    const t = "eyJhbGciOiJIUzI1NiJ9.payload.signature123";
    expect(maskToken(t)).toBe("eyJhbGci…ure123");
    expect(maskToken("short")).toBe("sho…");
  });
  it("searches what is shown (mask, tags, note), never the hidden part of the cookie", () => {
    const list = [acc("AAAAAAAA-hidden-middle-ZZZZZZ", { tags: ["vip"] }), acc("BBBBBBBB-other-secret-YYYYYY", { note: "Backup one" })];
    expect(filterAccounts(list, { ...EMPTY_FILTER, text: "hidden" }, maskToken)).toEqual([]);
    expect(filterAccounts(list, { ...EMPTY_FILTER, text: "zzzz" }, maskToken).map((a) => a.note)).toEqual([""]);
    expect(filterAccounts(list, { ...EMPTY_FILTER, text: "backup" }, maskToken)).toHaveLength(1);
    expect(filterAccounts(list, { ...EMPTY_FILTER, tag: "vip" }, maskToken)).toHaveLength(1);
    expect(filterAccounts(list, { ...EMPTY_FILTER, state: "dead" }, maskToken)).toEqual([]);
  });
  it("sorts by state, then newest", () => {
    const list = [acc("d", { state: "dead" }), acc("a1", { created_time: 1 }), acc("c", { state: "cooling" }), acc("a2", { created_time: 2 })];
    expect(sortAccounts(list, "state").map((a) => a.token)).toEqual(["a2", "a1", "c", "d"]);
    expect(sortAccounts([acc("x", { fail_count: 1 }), acc("y", { fail_count: 5 })], "failures").map((a) => a.token)).toEqual(["y", "x"]);
  });
  it("tags: comma lists (also the full-width comma), trimmed, unique", () => {
    expect(parseTags(" a, b ,a，c ,")).toEqual(["a", "b", "c"]);
  });
  it("routes by hash and only ever returns to the manager after login", () => {
    expect(pageFromHash("#/accounts")).toBe("accounts");
    expect(pageFromHash("#/nope")).toBe("overview");
    expect(pageFromHash("")).toBe("overview");
    expect(safeNext("/manage#/logs")).toBe("/manage#/logs");
    expect(safeNext("https://evil.example/")).toBe("/manage");
    expect(safeNext("//evil.example/manage")).toBe("/manage");
    expect(safeNext(null)).toBe("/manage");
  });
});
