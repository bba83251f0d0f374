// Live tickets, signed (issue 15): the Worker checks a ticket's signature and expiry before it
// routes to, or wakes, any Durable Object, so a forged ticket can neither create a hub nor reach
// one. The hub still consumes each ticket once (it stores the tickets it issued).
//
// Format: `<hub>.<expires>.<nonce>.<mac>`
//   hub      the hub's name ("org:<org>" or "user:<sub>"), UTF-8, base64url
//   expires  the expiry, milliseconds since the epoch, base 36
//   nonce    16 random bytes, hex
//   mac      HMAC-SHA-256 over "<hub>.<expires>.<nonce>", hex
// The key is LIVE_TICKET_SECRET when set, else one derived from the deployment's other secrets
// (TURSO_AUTH_TOKEN, JWT_SECRET), so a deployment needs no new secret; with none of them, no
// ticket is issued (503) and none verifies. Web Crypto does the work: no library needed.
import { readSetting } from "../market-data/providers/result.ts";

const encoder = new TextEncoder();
const keyLabel = "factor-exposure live ticket v1\n";

function hex(bytes: ArrayBuffer | Uint8Array): string {
  return [...(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes))]
    .map((byte) => byte.toString(16).padStart(2, "0"))
    .join("");
}

function fromHex(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Number.parseInt(text.slice(i * 2, i * 2 + 2), 16);
  return bytes;
}

/** UTF-8, base64url without padding: any org or sub (not only Latin-1, which btoa needs). */
export function encodeHubName(name: string): string {
  let binary = "";
  for (const byte of encoder.encode(name)) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

export function decodeHubName(encoded: string): string | null {
  if (!/^[A-Za-z0-9_-]+$/.test(encoded)) return null;
  try {
    const binary = atob(encoded.replaceAll("-", "+").replaceAll("_", "/"));
    const name = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(
      Uint8Array.from(binary, (char) => char.charCodeAt(0)),
    );
    return /^(org|user):./s.test(name) ? name : null;
  } catch {
    return null;
  }
}

async function ticketKey(env: object): Promise<CryptoKey | null> {
  const material =
    readSetting(env, "LIVE_TICKET_SECRET") ??
    [readSetting(env, "TURSO_AUTH_TOKEN"), readSetting(env, "JWT_SECRET")].filter(Boolean).join("\n");
  if (material === "") return null;
  const digest = await crypto.subtle.digest("SHA-256", encoder.encode(keyLabel + material));
  return crypto.subtle.importKey("raw", digest, { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
}

export class TicketKeyMissingError extends Error {
  constructor() {
    super("live tickets cannot be signed: set LIVE_TICKET_SECRET (or TURSO_AUTH_TOKEN / JWT_SECRET)");
    this.name = "TicketKeyMissingError";
  }
}

/** A signed ticket for `hubName`, valid until `expiresAt` (ms). */
export async function signTicket(env: object, hubName: string, expiresAt: number): Promise<string> {
  const key = await ticketKey(env);
  if (key === null) throw new TicketKeyMissingError();
  const nonce = new Uint8Array(16);
  crypto.getRandomValues(nonce);
  const body = `${encodeHubName(hubName)}.${expiresAt.toString(36)}.${hex(nonce)}`;
  const mac = await crypto.subtle.sign("HMAC", key, encoder.encode(body));
  return `${body}.${hex(mac)}`;
}

export type TicketCheck = { ok: true; hub: string } | { ok: false; reason: string };

/** The hub a ticket names, when its signature holds and it has not expired; never touches a Durable Object. */
export async function verifyTicket(env: object, ticket: string, now = Date.now()): Promise<TicketCheck> {
  const parts = ticket.split(".");
  if (parts.length !== 4) return { ok: false, reason: "a ticket from POST /api/v1/live/ticket is required" };
  const [encodedHub, expires, nonce, mac] = parts as [string, string, string, string];
  const hub = decodeHubName(encodedHub);
  if (
    hub === null ||
    !/^[0-9a-z]{1,12}$/.test(expires) ||
    !/^[0-9a-f]{32}$/.test(nonce) ||
    !/^[0-9a-f]{64}$/.test(mac)
  ) {
    return { ok: false, reason: "the ticket is malformed" };
  }
  const key = await ticketKey(env);
  if (key === null) return { ok: false, reason: "live tickets are not configured on this deployment" };
  // verify() compares in constant time.
  const valid = await crypto.subtle.verify(
    "HMAC",
    key,
    fromHex(mac),
    encoder.encode(`${encodedHub}.${expires}.${nonce}`),
  );
  if (!valid) return { ok: false, reason: "the ticket's signature does not match" };
  if (Number.parseInt(expires, 36) <= now) return { ok: false, reason: "the ticket has expired" };
  return { ok: true, hub };
}
