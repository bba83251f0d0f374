// One signed POST to a webhook: the URL checked again first (in production its host is resolved
// again, so a name that now points at a private address is refused, not called), then the
// request with a deadline. Shared by deliveries (./deliveries.ts) and the test ping.
import type { Fetcher } from "./doh.ts";
import { deliveryHeader, eventHeader, signatureFor, signatureHeader, timestampHeader } from "./signing.ts";
import { checkWebhookUrl, type Resolver } from "./url-guard.ts";

export interface SignedRequest {
  url: string;
  secret: string;
  event: string;
  deliveryId: string;
  /** The exact bytes to send and sign. */
  body: string;
}

export interface SendOptions {
  timeoutMs: number;
  production: boolean;
  resolve?: Resolver;
  fetch?: Fetcher;
  /** The clock, in ms (tests). */
  now?: () => number;
}

export interface SendOutcome {
  delivered: boolean;
  /** The receiver's HTTP status; null when it never answered (or was not called). */
  statusCode: number | null;
  /** Why the attempt failed, in words; null when delivered. */
  error: string | null;
  durationMs: number;
}

/** Longest error text kept (the receiver's network error can be long). */
const maxErrorChars = 300;

function isTimeout(error: unknown): boolean {
  return typeof error === "object" && error !== null && (error as { name?: unknown }).name === "TimeoutError";
}

export async function sendSigned(request: SignedRequest, options: SendOptions): Promise<SendOutcome> {
  const now = options.now ?? Date.now;
  const started = now();
  const elapsed = () => Math.max(0, now() - started);
  const guard = await checkWebhookUrl(request.url, {
    production: options.production,
    ...(options.resolve ? { resolve: options.resolve } : {}),
  });
  if (!guard.ok)
    return { delivered: false, statusCode: null, error: `refused: ${guard.reason}`, durationMs: elapsed() };
  const timestamp = Math.floor(now() / 1000);
  const fetcher: Fetcher = options.fetch ?? ((input, init) => fetch(input, init));
  let response: Response;
  try {
    response = await fetcher(guard.url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "user-agent": "factor-exposure-webhooks/1",
        [timestampHeader]: String(timestamp),
        [signatureHeader]: await signatureFor(request.secret, timestamp, request.body),
        [deliveryHeader]: request.deliveryId,
        [eventHeader]: request.event,
      },
      body: request.body,
      // A redirect would be a second, unchecked URL (a public host answering 302 to 169.254.169.254).
      redirect: "manual",
      signal: AbortSignal.timeout(options.timeoutMs),
    });
  } catch (error) {
    const reason = isTimeout(error)
      ? `no answer within ${options.timeoutMs} ms`
      : `request failed: ${error instanceof Error ? error.message : String(error)}`;
    return { delivered: false, statusCode: null, error: reason.slice(0, maxErrorChars), durationMs: elapsed() };
  }
  // The answer's body is not used: its status is the receiver's whole answer.
  await response.body?.cancel().catch(() => undefined);
  const status = response.status;
  if (status >= 200 && status < 300) return { delivered: true, statusCode: status, error: null, durationMs: elapsed() };
  const error =
    status >= 300 && status < 400 ? `answered ${status} (redirects are not followed)` : `answered ${status}`;
  return { delivered: false, statusCode: status, error, durationMs: elapsed() };
}
