// The live connection's reconnect delay: exponential backoff with jitter, so a restarted
// service is not hit by every dashboard at the same instant.

const baseDelayMs = 500;
const maxDelayMs = 30_000;

/**
 * The wait before reconnect attempt `attempt` (1, 2, …): uniform in [cap/2, cap], where the cap
 * doubles from 0.5 s up to 30 s ("equal jitter": never immediate, never synchronized).
 */
export function reconnectDelayMs(attempt: number, random: () => number = Math.random): number {
  const cap = Math.min(maxDelayMs, baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(cap / 2 + random() * (cap / 2));
}
