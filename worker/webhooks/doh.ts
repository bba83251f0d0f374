// DNS over HTTPS for the webhook URL guard (./url-guard.ts): Workers have no DNS API, so a host's
// addresses are asked of a public resolver's JSON interface (application/dns-json), at
// registration and before each delivery in production. The fetch is injected: tests answer
// with recorded-style JSON and never touch the network.
import { z } from "zod";
import type { DnsRecordType, Resolver } from "./url-guard.ts";

export const defaultDohEndpoint = "https://cloudflare-dns.com/dns-query";
/** A resolver that has not answered by then is a failed lookup: the registration or the attempt is refused. */
export const defaultDohTimeoutMs = 5_000;

export type Fetcher = (input: string, init?: RequestInit) => Promise<Response>;

/** The parts of a dns-json answer used here (RFC 8484's JSON flavour as Cloudflare and Google serve it). */
const dnsJsonSchema = z.object({
  Status: z.number().int(),
  Answer: z.array(z.object({ type: z.number().int(), data: z.string() })).optional(),
});

const recordTypes: Record<DnsRecordType, number> = { A: 1, AAAA: 28 };

/** DNS response codes worth naming in a reason. */
const responseCodes: Record<number, string> = { 1: "FORMERR", 2: "SERVFAIL", 4: "NOTIMP", 5: "REFUSED" };

function isTimeout(error: unknown): boolean {
  return typeof error === "object" && error !== null && (error as { name?: unknown }).name === "TimeoutError";
}

/** A resolver over DNS-over-HTTPS; each lookup throws an Error whose message is the reason. */
export function dohResolver(options: { fetch?: Fetcher; endpoint?: string; timeoutMs?: number } = {}): Resolver {
  const fetcher: Fetcher = options.fetch ?? ((input, init) => fetch(input, init));
  const endpoint = options.endpoint ?? defaultDohEndpoint;
  const timeoutMs = options.timeoutMs ?? defaultDohTimeoutMs;
  return async (name, type) => {
    const url = `${endpoint}?name=${encodeURIComponent(name)}&type=${type}`;
    let response: Response;
    try {
      response = await fetcher(url, {
        headers: { accept: "application/dns-json" },
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      if (isTimeout(error)) throw new Error(`the DNS resolver did not answer within ${timeoutMs} ms`);
      throw new Error(`the DNS resolver could not be reached (${error instanceof Error ? error.message : error})`);
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new Error(`the DNS resolver answered HTTP ${response.status}`);
    }
    let parsed: z.infer<typeof dnsJsonSchema>;
    try {
      parsed = dnsJsonSchema.parse(await response.json());
    } catch {
      throw new Error("the DNS resolver's answer is not dns-json");
    }
    if (parsed.Status === 3) throw new Error("the name does not exist (NXDOMAIN)");
    if (parsed.Status !== 0)
      throw new Error(`the ${type} lookup failed (${responseCodes[parsed.Status] ?? `rcode ${parsed.Status}`})`);
    // A CNAME chain comes back as CNAME records followed by the target's addresses: keep the addresses.
    return (parsed.Answer ?? []).filter((record) => record.type === recordTypes[type]).map((record) => record.data);
  };
}

/** One lookup per name and type for the resolver's lifetime (one queue invocation or request). */
export function cachingResolver(resolver: Resolver): Resolver {
  const cache = new Map<string, Promise<readonly string[]>>();
  return (name, type) => {
    const key = `${type} ${name}`;
    let answer = cache.get(key);
    if (answer === undefined) {
      answer = resolver(name, type);
      cache.set(key, answer);
    }
    return answer;
  };
}
