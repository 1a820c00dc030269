import { describe, expect, it } from "vitest";
import { JsonDepthError, jsonDepth, parseJsonLimited } from "../../src/server/core/json.js";
import { addressBlockedReason, isLoopbackHostname, parseIp, splitHostHeader } from "../../src/server/net/address-guard.js";

/** The address classifier behind the image fetcher and the Host guard (no traffic: bytes only). */
describe("address guard", () => {
  it.each([
    // IPv4
    ["127.0.0.1", /loopback/],
    ["127.255.255.254", /loopback/],
    ["0.0.0.0", /this network/],
    ["0.1.2.3", /this network/],
    ["10.1.2.3", /private/],
    ["172.16.0.1", /private/],
    ["172.31.255.255", /private/],
    ["192.168.1.1", /private/],
    ["100.64.0.1", /CGNAT/],
    ["100.127.255.255", /CGNAT/],
    ["100.100.100.200", /CGNAT/], // Alibaba metadata
    ["169.254.169.254", /metadata/],
    ["169.254.0.1", /link-local/],
    ["192.0.0.192", /IETF/], // Oracle metadata
    ["224.0.0.1", /multicast/],
    ["239.255.255.250", /multicast/],
    ["255.255.255.255", /broadcast/],
    ["198.18.0.1", /benchmarking/],
    // IPv6
    ["::1", /loopback/],
    ["::", /unspecified/],
    ["fe80::1", /link-local/],
    ["febf:ffff::1", /link-local/], // all of fe80::/10, not only fe80:
    ["fc00::1", /unique-local/],
    ["fd00:ec2::254", /unique-local/], // AWS metadata over IPv6
    ["fec0::1", /site-local/],
    ["ff02::1", /multicast/],
    ["2001:db8::1", /documentation/],
    ["2001:0:4136:e378:8000:63bf:3fff:fdd2", /Teredo/],
    // IPv6 forms embedding IPv4, judged by the IPv4 address
    ["::ffff:127.0.0.1", /IPv4-mapped.*loopback/],
    ["::ffff:7f00:1", /IPv4-mapped.*loopback/],
    ["0:0:0:0:0:ffff:127.0.0.1", /IPv4-mapped.*loopback/],
    ["::ffff:a9fe:a9fe", /IPv4-mapped.*metadata/],
    ["::ffff:0:10.0.0.1", /IPv4-translated.*private/],
    ["64:ff9b::7f00:1", /NAT64.*loopback/],
    ["64:ff9b::192.168.0.1", /NAT64.*private/],
    ["64:ff9b:1::1", /local-use NAT64/],
    ["2002:7f00:1::", /6to4.*loopback/],
    ["2002:a9fe:a9fe::1", /6to4.*metadata/],
    ["::127.0.0.1", /IPv4-compatible/],
    ["::8.8.8.8", /IPv4-compatible/],
    ["[::ffff:127.0.0.1]", /loopback/],
  ])("refuses %s", (address, why) => {
    expect(addressBlockedReason(address)).toMatch(why);
  });

  it.each(["8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1", "169.253.1.1", "2606:4700:4700::1111", "2a00:1450:4001:80b::200e", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1"])("allows public %s", (address) => {
    expect(addressBlockedReason(address)).toBeNull();
  });

  it("parses IPv6 to the same bytes whatever the spelling", () => {
    const a = parseIp("::ffff:127.0.0.1")!.bytes;
    for (const form of ["::ffff:7f00:1", "0:0:0:0:0:ffff:127.0.0.1", "0000:0000:0000:0000:0000:ffff:7f00:0001", "[::FFFF:7F00:1]"]) expect(parseIp(form)!.bytes).toEqual(a);
    for (const bad of ["1:2:3:4:5:6:7:8:9", "1::2::3", "::ffff:127.0.0.256", "fe80::1%eth0", "12345::", "127.1", "0x7f.0.0.1", "127.0.0.01"]) expect(parseIp(bad), bad).toBeNull();
    expect(addressBlockedReason("not-an-ip")).toBe("not an IP address");
  });

  it("takes only real loopback names as loopback Hosts", () => {
    for (const h of ["localhost", "LOCALHOST", "localhost.", "127.0.0.1", "127.1.2.3", "[::1]", "::1", "[::ffff:127.0.0.1]"]) expect(isLoopbackHostname(h), h).toBe(true);
    for (const h of ["127.attacker.example", "127.0.0.1.nip.io", "localhost.evil.example", "127.0.0.1a", "[::2]", "0.0.0.0", "evil.example"]) expect(isLoopbackHostname(h), h).toBe(false);
    expect(splitHostHeader("[::1]:8000")).toEqual({ host: "[::1]", port: "8000" });
    expect(splitHostHeader("LocalHost:80")).toEqual({ host: "localhost", port: "80" });
    expect(splitHostHeader("127.0.0.1")).toEqual({ host: "127.0.0.1", port: null });
  });
});

describe("parseJsonLimited", () => {
  it("parses ordinary JSON and refuses deep nesting with the path of the field", () => {
    expect(parseJsonLimited('{"a":[1,{"b":"x[{"}]}')).toEqual({ a: [1, { b: "x[{" }] });
    expect(parseJsonLimited('"[[[[[["', 2)).toBe("[[[[[[");
    expect(parseJsonLimited('{"s":"\\"[[[["}', 2)).toEqual({ s: '"[[[[' });
    const deep = `{"grok_config":{"custom":${"[".repeat(20_000)}${"]".repeat(20_000)}}}`;
    let err: unknown;
    try {
      parseJsonLimited(deep, 64);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(JsonDepthError);
    expect((err as JsonDepthError).path).toMatch(/^grok_config\.custom\[0\]\[0\]…$/);
    expect(() => parseJsonLimited("{not json", 64)).toThrow(SyntaxError);
    expect(() => parseJsonLimited("[".repeat(65) + "]".repeat(65), 64)).toThrow(JsonDepthError);
    expect(parseJsonLimited("[".repeat(64) + "]".repeat(64), 64)).toBeTruthy();
    expect(jsonDepth(JSON.parse("[".repeat(5000) + "]".repeat(5000)))).toBe(5000);
  });
});
