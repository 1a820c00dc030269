import { isIP } from "node:net";

/**
 * IP addresses as bytes, and which of them a client-supplied URL may make this machine connect
 * to. String prefixes are not enough: `::ffff:7f00:1`, `0:0:0:0:0:ffff:127.0.0.1` and
 * `64:ff9b::a00:1` all name IPv4 addresses that must be judged as IPv4. Every address is parsed
 * to bytes first and ranges are compared on the bytes.
 */

export type IpBytes = { family: 4; bytes: Uint8Array } | { family: 6; bytes: Uint8Array };

/** Parses a dotted-quad IPv4 address (four decimal parts 0-255, no leading zeros beyond "0"). */
export function parseIPv4(text: string): Uint8Array | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^(0|[1-9]\d{0,2})$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    out[i] = n;
  }
  return out;
}

/** Parses an IPv6 address (with `::`, an embedded dotted quad, no zone id) to 16 bytes. */
export function parseIPv6(text: string): Uint8Array | null {
  if (text.includes("%")) return null; // zone ids name an interface: link-local, never fetched
  let head = text;
  let tailV4: Uint8Array | null = null;
  const lastColon = text.lastIndexOf(":");
  if (lastColon >= 0 && text.indexOf(".", lastColon) > lastColon) {
    tailV4 = parseIPv4(text.slice(lastColon + 1));
    if (!tailV4) return null;
    head = text.slice(0, lastColon + 1) + "0:0"; // placeholder groups, overwritten below
  }
  const halves = head.split("::");
  if (halves.length > 2) return null;
  const groups = (s: string) => (s === "" ? [] : s.split(":"));
  const left = groups(halves[0]!);
  const right = halves.length === 2 ? groups(halves[1]!) : [];
  const total = left.length + right.length;
  if (halves.length === 1 ? total !== 8 : total > 7) return null;
  const all = [...left, ...Array<string>(8 - total).fill("0"), ...right];
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    const g = all[i]!;
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
    const n = parseInt(g, 16);
    out[i * 2] = n >> 8;
    out[i * 2 + 1] = n & 0xff;
  }
  if (tailV4) out.set(tailV4, 12);
  return out;
}

/** Parses an IP literal (IPv4, IPv6, or `[IPv6]` as in a URL host) to bytes; null when it is a name. */
export function parseIp(text: string): IpBytes | null {
  const t = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  const kind = isIP(t);
  if (kind === 4) {
    const b = parseIPv4(t);
    return b ? { family: 4, bytes: b } : null;
  }
  if (kind === 6 || t.includes(":")) {
    const b = parseIPv6(t);
    return b ? { family: 6, bytes: b } : null;
  }
  return null;
}

/** True when the first `bits` bits of `bytes` equal those of `prefix`. */
function inPrefix(bytes: Uint8Array, prefix: number[], bits: number): boolean {
  for (let i = 0; i < bits; i++) {
    const byte = i >> 3;
    const mask = 0x80 >> (i & 7);
    if (((bytes[byte]! & mask) !== 0) !== (((prefix[byte] ?? 0) & mask) !== 0)) return false;
  }
  return true;
}

const V4_BLOCKED: Array<[number[], number, string]> = [
  [[0, 0, 0, 0], 8, "this network (0.0.0.0/8)"],
  [[10, 0, 0, 0], 8, "private (10/8)"],
  [[100, 64, 0, 0], 10, "shared address space / CGNAT (100.64/10)"],
  [[127, 0, 0, 0], 8, "loopback (127/8)"],
  [[169, 254, 0, 0], 16, "link-local / cloud metadata (169.254/16)"],
  [[172, 16, 0, 0], 12, "private (172.16/12)"],
  [[192, 0, 0, 0], 24, "IETF protocol assignments (192.0.0/24)"],
  [[192, 0, 2, 0], 24, "documentation (192.0.2/24)"],
  [[192, 88, 99, 0], 24, "6to4 relay anycast (192.88.99/24)"],
  [[192, 168, 0, 0], 16, "private (192.168/16)"],
  [[198, 18, 0, 0], 15, "benchmarking (198.18/15)"],
  [[198, 51, 100, 0], 24, "documentation (198.51.100/24)"],
  [[203, 0, 113, 0], 24, "documentation (203.0.113/24)"],
  [[224, 0, 0, 0], 4, "multicast (224/4)"],
  [[240, 0, 0, 0], 4, "reserved / broadcast (240/4)"],
];

/** IPv6 ranges that embed an IPv4 address: judged by the address they embed (offset of its 4 bytes). */
const V6_EMBEDDING: Array<[number[], number, number, string]> = [
  [[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff], 96, 12, "IPv4-mapped (::ffff:0:0/96)"],
  [[0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0], 96, 12, "IPv4-translated (::ffff:0:0:0/96)"],
  [[0, 0x64, 0xff, 0x9b], 96, 12, "NAT64 (64:ff9b::/96)"],
  [[0x20, 0x02], 16, 2, "6to4 (2002::/16)"],
];

const V6_BLOCKED: Array<[number[], number, string]> = [
  // Deprecated IPv4-compatible addresses, "::" and "::1": refused whatever they embed (no routable use).
  [[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 96, "IPv4-compatible / unspecified / loopback (::/96)"],
  [[0, 0x64, 0xff, 0x9b, 0, 1], 48, "local-use NAT64 (64:ff9b:1::/48)"],
  [[0x01, 0, 0, 0, 0, 0, 0, 0], 64, "discard-only (100::/64)"],
  [[0x20, 0x01, 0, 0], 23, "IETF protocol assignments incl. Teredo (2001::/23)"],
  [[0x20, 0x01, 0x0d, 0xb8], 32, "documentation (2001:db8::/32)"],
  [[0x3f, 0xff], 20, "documentation (3fff::/20)"],
  [[0xfc], 7, "unique-local (fc00::/7)"],
  [[0xfe, 0x80], 10, "link-local (fe80::/10)"],
  [[0xfe, 0xc0], 10, "site-local (fec0::/10)"],
  [[0xff], 8, "multicast (ff00::/8)"],
];

/**
 * Why an address must not be fetched from (loopback, private, link-local, metadata…), or null
 * when it is a public unicast address. IPv6 forms embedding IPv4 are judged by the IPv4 address.
 */
export function blockedReason(ip: IpBytes): string | null {
  if (ip.family === 4) {
    for (const [prefix, bits, why] of V4_BLOCKED) if (inPrefix(ip.bytes, prefix, bits)) return why;
    return null;
  }
  for (const [prefix, bits, offset, why] of V6_EMBEDDING) {
    if (!inPrefix(ip.bytes, prefix, bits)) continue;
    const inner = blockedReason({ family: 4, bytes: ip.bytes.slice(offset, offset + 4) });
    return inner ? `${why} embedding ${inner}` : null;
  }
  for (const [prefix, bits, why] of V6_BLOCKED) if (inPrefix(ip.bytes, prefix, bits)) return why;
  return null;
}

/** `blockedReason` for an address string; unparseable text is refused too. */
export function addressBlockedReason(address: string): string | null {
  const ip = parseIp(address);
  return ip ? blockedReason(ip) : "not an IP address";
}

/** True for loopback addresses only: 127/8, ::1 and their IPv4-mapped forms. */
export function isLoopbackIp(ip: IpBytes): boolean {
  if (ip.family === 4) return ip.bytes[0] === 127;
  if (inPrefix(ip.bytes, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff], 96)) return ip.bytes[12] === 127;
  return ip.bytes.every((b, i) => (i === 15 ? b === 1 : b === 0));
}

/**
 * True when a Host-header or URL host names this machine's loopback: `localhost`, `[::1]` or a
 * real IPv4 literal in 127/8. Names merely starting with "127." (127.0.0.1.nip.io) are not.
 */
export function isLoopbackHostname(host: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, "");
  if (h === "localhost") return true;
  const ip = parseIp(h);
  return !!ip && isLoopbackIp(ip);
}

/** Splits a Host header into host and port: `[::1]:8000` → `[::1]`, `localhost:80` → `localhost`. */
export function splitHostHeader(value: string): { host: string; port: string | null } {
  const v = value.trim().toLowerCase();
  const m = /^(\[[^\]]*\]|[^:]*)(?::(\d*))?$/.exec(v);
  if (!m) return { host: v, port: null };
  return { host: m[1]!, port: m[2] ?? null };
}
