// How a webhook request proves where it comes from (docs/api.md, "Webhooks"): an HMAC-SHA256 of
// "<timestamp>.<body>" keyed with the webhook's secret, in `X-Factor-Signature: sha256=<hex>`,
// beside `X-Factor-Timestamp` (unix seconds). Signing the timestamp with the body lets a receiver
// refuse old requests (replays) as well as forged ones.

export const signatureHeader = "X-Factor-Signature";
export const timestampHeader = "X-Factor-Timestamp";
export const deliveryHeader = "X-Factor-Delivery";
export const eventHeader = "X-Factor-Event";

/** Bytes of randomness in a generated secret (256 bits, HMAC-SHA256's key size). */
export const generatedSecretBytes = 32;

const encoder = new TextEncoder();

function hex(bytes: ArrayBuffer): string {
  return [...new Uint8Array(bytes)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** `sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`; the key is the secret text's UTF-8 bytes. */
export async function signatureFor(secret: string, timestamp: number, body: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  const mac = await crypto.subtle.sign("HMAC", key, encoder.encode(`${timestamp}.${body}`));
  return `sha256=${hex(mac)}`;
}

/** A new secret: 32 random bytes, base64url without padding (43 characters). */
export function generateSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(generatedSecretBytes));
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}
