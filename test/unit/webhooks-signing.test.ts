// Webhook signatures, secrets, the retry schedule and the delivery settings
// (worker/webhooks/signing.ts, config.ts). The signature is checked against node:crypto's HMAC,
// an implementation independent of the Web Crypto one the Worker uses.
import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { webhookConfig, webhookRetryDelaySeconds } from "../../worker/webhooks/config.ts";
import { generateSecret, signatureFor } from "../../worker/webhooks/signing.ts";

describe("signatureFor", () => {
  it("is sha256=<hex HMAC-SHA256(secret, '<timestamp>.<body>')>", async () => {
    const secret = "whsec-test-0123456789";
    const body = JSON.stringify({ id: "d-1", event: "alert.raised", alert: { value: 0.071, name: "Ünïcode €" } });
    const expected = createHmac("sha256", secret).update(`1767225600.${body}`).digest("hex");
    expect(await signatureFor(secret, 1767225600, body)).toBe(`sha256=${expected}`);
  });

  it("changes with the timestamp, the body and the secret", async () => {
    const base = await signatureFor("secret-secret-secret", 1, "{}");
    expect(await signatureFor("secret-secret-secret", 2, "{}")).not.toBe(base);
    expect(await signatureFor("secret-secret-secret", 1, "{ }")).not.toBe(base);
    expect(await signatureFor("secret-secret-secreT", 1, "{}")).not.toBe(base);
  });
});

describe("generateSecret", () => {
  it("is 32 random bytes, base64url without padding", () => {
    const secrets = new Set(Array.from({ length: 50 }, generateSecret));
    expect(secrets.size).toBe(50);
    for (const secret of secrets) {
      expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(secret, "base64url")).toHaveLength(32);
    }
  });
});

describe("the retry schedule and settings", () => {
  it("waits 1, 4, 16, 64 minutes, 4 h 16 min, then the queue's 12-hour maximum", () => {
    expect([1, 2, 3, 4, 5, 6, 7, 9].map(webhookRetryDelaySeconds)).toEqual([
      60, 240, 960, 3_840, 15_360, 43_200, 43_200, 43_200,
    ]);
  });

  it("reads WEBHOOK_MAX_ATTEMPTS and WEBHOOK_TIMEOUT_MS, refusing bad values by name", () => {
    expect(webhookConfig({ ENVIRONMENT: "development" })).toEqual({
      maxAttempts: 6,
      timeoutMs: 10_000,
      production: false,
    });
    expect(webhookConfig({ WEBHOOK_MAX_ATTEMPTS: "3", WEBHOOK_TIMEOUT_MS: "500" })).toEqual({
      maxAttempts: 3,
      timeoutMs: 500,
      production: true,
    });
    expect(() => webhookConfig({ WEBHOOK_MAX_ATTEMPTS: "0" })).toThrow(/WEBHOOK_MAX_ATTEMPTS/);
    expect(() => webhookConfig({ WEBHOOK_MAX_ATTEMPTS: "11" })).toThrow(/WEBHOOK_MAX_ATTEMPTS must be at most 10/);
    expect(() => webhookConfig({ WEBHOOK_TIMEOUT_MS: "60000" })).toThrow(/WEBHOOK_TIMEOUT_MS must be at most 30000/);
    expect(() => webhookConfig({ WEBHOOK_TIMEOUT_MS: "1.5" })).toThrow(/WEBHOOK_TIMEOUT_MS/);
  });
});
