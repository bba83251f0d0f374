/** Retry delay grows with each attempt: 30 s, 60 s, 120 s, …, capped at 15 minutes. */
export function retryDelaySeconds(attempts: number): number {
  return Math.min(30 * 2 ** Math.max(0, attempts - 1), 900);
}
