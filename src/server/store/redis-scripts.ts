/**
 * The Redis backend's Lua scripts, run atomically on the server: compare-and-set of an account
 * (hash field) or of the settings key, each publishing its change in the same step; taking a
 * concurrency slot and counting the held ones, both by the Redis clock.
 */
import type { Redis } from "ioredis";

/** KEYS[1]=accounts hash; ARGV: token, expected JSON, new JSON, channel, message. 1 = written, 0 = changed meanwhile, -1 = gone. */
const CAS_SCRIPT = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then return -1 end
if cur ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('PUBLISH', ARGV[4], ARGV[5])
return 1
`;

/** KEYS[1]=settings key; ARGV: expected (or "" for absent), next, channel, message. */
const CAS_KEY_SCRIPT = `
local cur = redis.call('GET', KEYS[1])
if not cur then cur = '' end
if cur ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1
`;

/** KEYS[1]=slot zset; ARGV: lease, cap, ttl ms. Purge expired, then take a slot if one is free. */
const ACQUIRE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local ttl = tonumber(ARGV[3])
local held = redis.call('ZSCORE', KEYS[1], ARGV[1])
if (not held) and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1
`;

/** KEYS[1]=slot zset. Unexpired count, by the Redis clock. */
const COUNT_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')
`;

export interface ScriptedRedis extends Redis {
  g2aCas(key: string, token: string, expected: string, next: string, channel: string, message: string): Promise<number>;
  g2aCasKey(key: string, expected: string, next: string, channel: string, message: string): Promise<number>;
  g2aAcquire(key: string, lease: string, cap: number, ttl: number): Promise<number>;
  g2aCount(key: string): Promise<number>;
}

/** Registers the scripts as commands of `client` (the ScriptedRedis methods). */
export function defineScripts(client: Redis): ScriptedRedis {
  client.defineCommand("g2aCas", { numberOfKeys: 1, lua: CAS_SCRIPT });
  client.defineCommand("g2aCasKey", { numberOfKeys: 1, lua: CAS_KEY_SCRIPT });
  client.defineCommand("g2aAcquire", { numberOfKeys: 1, lua: ACQUIRE_SCRIPT });
  client.defineCommand("g2aCount", { numberOfKeys: 1, lua: COUNT_SCRIPT });
  return client as ScriptedRedis;
}
