import { describe, expect, it } from "vitest";
import { newAccountRecord } from "../../src/server/core/account.js";

describe("account record", () => {
  it("starts active with no quota knowledge", () => {
    const r = newAccountRecord("t", 5);
    expect(r.status).toBe("active");
    expect(r.quota).toEqual({});
    expect(r.createdAt).toBe(5);
  });
});
