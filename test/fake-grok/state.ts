import type { FakeAccount, FakeAccountOptions, FakeGrokOptions, QuotaEntry, RecordedRequest, SessionState, Tier } from "./types.js";
import { ScenarioQueue } from "./scenarios.js";
import { isoNanos, makeSsoJwt, uuid, UUID_V4_RE } from "./util.js";

export const CHAT_MODES = ["auto", "fast", "expert", "heavy", "grok-420-computer-use-sa"] as const;
export const IMAGINE_KEYS = ["image_pro", "image_edit", "video", "video_720p"] as const;
const DAY = 86_400;

/** Default quota per tier (§10.4 totals; Imagine daily quotas; legacy token budget; weekly pool in percent). */
const TIER_TOTALS: Record<Tier, Record<string, [number, number]>> = {
  basic: {
    fast: [30, DAY], auto: [7, DAY], expert: [0, DAY], heavy: [0, DAY], "grok-420-computer-use-sa": [0, DAY],
    tokens: [80, 7200], image_pro: [8, DAY], image_edit: [4, DAY], video_720p: [4, DAY],
  },
  super: {
    fast: [140, DAY], auto: [50, DAY], expert: [50, DAY], heavy: [0, DAY], "grok-420-computer-use-sa": [20, DAY],
    tokens: [140, 7200], image_pro: [50, DAY], image_edit: [50, DAY], video: [20, DAY], video_720p: [20, DAY], weekly: [100, 7 * DAY],
  },
  heavy: {
    fast: [400, DAY], auto: [150, DAY], expert: [150, DAY], heavy: [50, DAY], "grok-420-computer-use-sa": [50, DAY],
    tokens: [280, 7200], image_pro: [200, DAY], image_edit: [200, DAY], video: [100, DAY], video_720p: [100, DAY], weekly: [100, 7 * DAY],
  },
};

export function defaultQuota(tier: Tier): Record<string, QuotaEntry> {
  const out: Record<string, QuotaEntry> = {};
  for (const [k, [total, windowSeconds]] of Object.entries(TIER_TOTALS[tier])) {
    out[k] = { remaining: total, total, windowSeconds };
  }
  // The captured weekly pool shows 11 % used (Imagine 10 %, Chat 1 %).
  if (out.weekly) out.weekly.remaining = 89;
  return out;
}

export interface AccountRecord extends FakeAccount {
  session: SessionState;
  email: string;
  quota: Record<string, QuotaEntry>;
  createdAt: number;
  birthDateSet: boolean;
  tosAccepted: boolean;
  nsfwEnabled: boolean;
  /** Weekly-pool breakdown in percent (product code → percent), mirrors quota.weekly. */
  creditBreakdown: Record<number, number>;
}

export interface UploadRecord {
  fileMetadataId: string;
  uploadId: string;
  owner: string;
  userId: string;
  fileName: string;
  mime: string;
  fileUri: string;
  source?: string;
}

export interface AssetRecord {
  /** Path without a leading slash. */
  path: string;
  /** userId that may read it; undefined = public (imagine-public). */
  ownerUserId?: string;
  contentType: string;
  bytes: Buffer;
}

export interface ConversationRecord {
  id: string;
  owner: string;
  responseIds: string[];
  lastResponseId?: string;
}

export interface ResponseRecord {
  id: string;
  conversationId: string;
  owner: string;
  role: "user" | "assistant";
  text: string;
}

export interface PostRecord {
  id: string;
  owner: string;
  mediaType: string;
  mediaUrl?: string;
  prompt?: string;
}

export class FakeState {
  readonly accounts = new Map<string, AccountRecord>();
  readonly uploads = new Map<string, UploadRecord>();
  readonly assets = new Map<string, AssetRecord>();
  readonly conversations = new Map<string, ConversationRecord>();
  readonly responses = new Map<string, ResponseRecord>();
  readonly posts = new Map<string, PostRecord>();
  readonly videos = new Map<string, { owner: string; userId: string; path: string }>();
  readonly requests: RecordedRequest[] = [];
  readonly scenarios = new ScenarioQueue();
  readonly cfClearance = new Map<string, string>();
  readonly firstUserAgent = new Map<string, string>();
  readonly seenRequestIds = new Set<string>();
  private nextRequestId = 1;
  private accountCounter = 0;
  readonly options: FakeGrokOptions;

  constructor(readonly startOptions: FakeGrokOptions) {
    this.options = { ...startOptions };
  }

  addAccount(opts: FakeAccountOptions = {}): AccountRecord {
    const userId = (opts.userId ?? uuid()).toLowerCase();
    if (!UUID_V4_RE.test(userId) && !/^[0-9a-f-]{36}$/.test(userId)) throw new Error(`userId must be a UUID: ${userId}`);
    const sso = opts.sso ?? makeSsoJwt();
    const tier = opts.tier ?? "basic";
    this.accountCounter++;
    const acc: AccountRecord = {
      sso,
      userId,
      tier,
      session: opts.session ?? "authenticated",
      email: `fake-user-${this.accountCounter}@example.com`,
      quota: defaultQuota(tier),
      createdAt: Date.now(),
      birthDateSet: false,
      tosAccepted: false,
      nsfwEnabled: false,
      creditBreakdown: tier === "basic" ? {} : { 5: 10, 4: 1, 2: 0 },
    };
    this.accounts.set(sso, acc);
    return acc;
  }

  /** Remaining units of a quota key; undefined when the product does not apply to the account. */
  remaining(acc: AccountRecord, key: string): number | undefined {
    return acc.quota[key]?.remaining;
  }

  /** Spends n units; when a key reaches 0 it gets a nextAvailableAt for the Imagine products. */
  consume(acc: AccountRecord, key: string, n = 1): void {
    const q = acc.quota[key];
    if (!q) return;
    q.remaining = Math.max(0, q.remaining - n);
    if (q.remaining === 0 && (IMAGINE_KEYS as readonly string[]).includes(key) && !q.nextAvailableAt) {
      q.nextAvailableAt = isoNanos(Date.now() + q.windowSeconds * 1000);
    }
  }

  setQuota(acc: AccountRecord, key: string, q: { remaining: number; total?: number; windowSeconds?: number; nextAvailableAt?: string }): void {
    const prev = acc.quota[key];
    acc.quota[key] = {
      remaining: q.remaining,
      total: q.total ?? prev?.total ?? Math.max(q.remaining, 1),
      windowSeconds: q.windowSeconds ?? prev?.windowSeconds ?? (key === "weekly" ? 7 * DAY : key === "tokens" ? 7200 : DAY),
      ...(q.nextAvailableAt !== undefined ? { nextAvailableAt: q.nextAvailableAt } : {}),
    };
  }

  record(partial: Omit<RecordedRequest, "id" | "at">): RecordedRequest {
    const rec: RecordedRequest = { id: this.nextRequestId++, at: Date.now(), ...partial };
    this.requests.push(rec);
    return rec;
  }

  putAsset(a: AssetRecord): void {
    this.assets.set(a.path.replace(/^\/+/, ""), a);
  }

  reset(): void {
    this.requests.length = 0;
    this.scenarios.clear();
    this.seenRequestIds.clear();
    this.firstUserAgent.clear();
    for (const k of Object.keys(this.options)) delete (this.options as Record<string, unknown>)[k];
    Object.assign(this.options, this.startOptions);
  }
}
