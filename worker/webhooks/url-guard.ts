// The SSRF guard for webhook URLs (docs/api.md, "Webhooks"): a URL an org registers is called by
// the Worker, so it must not point the Worker at anything but a public receiver. Pure: no I/O
// here; DNS answers come from a resolver the caller passes (./doh.ts in production, a fake in tests).
//
// Production (`ENVIRONMENT` anything but "development": fail closed) allows only https to the
// default port, no credentials, and a host that is, or resolves only to, public addresses.
// Development (the local stack and the tests, which run offline) also allows http, any port and
// loopback, so a receiver on 127.0.0.1 can be tested; every other class stays refused, and no
// DNS lookup is made (a name is judged by its form only).
//
// WHATWG URL parsing canonicalizes hosts (http://2130706433/ has hostname 127.0.0.1), so the
// address checks see every IPv4 spelling; a host whose text was not already dotted decimal is
// refused outright, since no receiver needs one and logs should show what is called.

export type AddressClass =
  | "public"
  | "loopback"
  | "private"
  | "link_local"
  | "metadata"
  | "unspecified"
  | "shared"
  | "multicast"
  | "reserved";

/** What each refused class is called in a reason. */
const classNames: Record<Exclude<AddressClass, "public">, string> = {
  loopback: "loopback",
  private: "private network",
  link_local: "link-local",
  metadata: "cloud metadata service",
  unspecified: "unspecified",
  shared: "shared address space (CGNAT, 100.64.0.0/10)",
  multicast: "multicast",
  reserved: "reserved or not globally routable",
};

export type DnsRecordType = "A" | "AAAA";

/** The addresses a name has for one record type; throws (with a reason) when the lookup fails. */
export type Resolver = (name: string, type: DnsRecordType) => Promise<readonly string[]>;

export interface GuardOptions {
  /** Production rules (https, default port, DNS); false only for ENVIRONMENT=development. */
  production: boolean;
  /** Needed in production for host names; not called in development. */
  resolve?: Resolver;
}

export type GuardResult = { ok: true; url: string } | { ok: false; reason: string };

/** Production unless the Worker is explicitly in development: a missing or misspelt setting is production. */
export function isProduction(env: { ENVIRONMENT?: string }): boolean {
  return env.ENVIRONMENT !== "development";
}

export const maxWebhookUrlLength = 2048;

/** Names that reach a cloud provider's instance metadata service wherever they are resolved. */
const metadataNames = new Set([
  "metadata",
  "metadata.google.internal",
  "metadata.goog",
  "instance-data",
  "instance-data.ec2.internal",
]);

/** Suffixes reserved for private or local names: they never name a public receiver. */
const privateSuffixes = ["local", "internal", "localdomain", "home.arpa", "lan", "intranet"];

/** Checks a webhook URL; in production also resolves its host and checks every address. */
export async function checkWebhookUrl(input: string, options: GuardOptions): Promise<GuardResult> {
  const form = checkUrlForm(input, options.production);
  if (!form.ok) return form;
  const url = new URL(form.url);
  const host = url.hostname;
  const literal = parseIp(host);
  if (literal !== null) return form;
  if (!options.production) return form;
  if (!options.resolve) return { ok: false, reason: "no DNS resolver is configured, so the host cannot be checked" };
  const name = host.replace(/\.$/, "");
  let addresses: string[];
  try {
    const answers = await Promise.all([options.resolve(name, "A"), options.resolve(name, "AAAA")]);
    addresses = answers.flat();
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    return { ok: false, reason: `could not resolve ${name}: ${why}; try again later` };
  }
  if (addresses.length === 0) return { ok: false, reason: `${name} has no A or AAAA records` };
  for (const address of addresses) {
    const bytes = parseIp(address);
    if (bytes === null) return { ok: false, reason: `${name} resolves to ${address}, which is not an IP address` };
    const kind = classifyAddress(bytes);
    if (kind !== "public") return { ok: false, reason: `${name} resolves to ${address} (${classNames[kind]})` };
  }
  return form;
}

/**
 * Everything that can be decided from the URL's text alone: scheme, credentials, port,
 * fragment, and the host's form and literal address. Returns the normalized URL to store.
 */
export function checkUrlForm(input: string, production: boolean): GuardResult {
  if (input.length > maxWebhookUrlLength)
    return { ok: false, reason: `the URL is longer than ${maxWebhookUrlLength} characters` };
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    return { ok: false, reason: "not an absolute URL" };
  }
  if (url.protocol !== "https:" && !(url.protocol === "http:" && !production))
    return {
      ok: false,
      reason: production ? `the scheme must be https, got ${url.protocol}` : `the scheme must be http or https`,
    };
  if (url.username !== "" || url.password !== "")
    return { ok: false, reason: "credentials in the URL are refused: the signature authenticates the sender" };
  if (url.hash !== "") return { ok: false, reason: "a fragment (#…) is never sent to the receiver; remove it" };
  if (production && url.port !== "")
    return { ok: false, reason: `only the default port (443) is allowed, got ${url.port}` };
  const host = url.hostname;
  const bytes = parseIp(host);
  if (bytes !== null) {
    if (bytes.length === 4 && rawHost(input) !== host)
      return {
        ok: false,
        reason: `write the IPv4 address in dotted decimal (${host}), not as an integer, octal or hex form`,
      };
    const kind = classifyAddress(bytes);
    if (kind === "public" || (kind === "loopback" && !production)) return { ok: true, url: url.href };
    return { ok: false, reason: `${host} is not a public address (${classNames[kind]})` };
  }
  const name = host.replace(/\.$/, "");
  if (name === "localhost" || name.endsWith(".localhost"))
    return production ? { ok: false, reason: `${name} is a loopback name` } : { ok: true, url: url.href };
  if (metadataNames.has(name)) return { ok: false, reason: `${name} is a cloud metadata service name` };
  if (!name.includes(".")) return { ok: false, reason: `${name} is a single-label (intranet) name` };
  const suffix = privateSuffixes.find((tld) => name.endsWith(`.${tld}`));
  if (suffix !== undefined) return { ok: false, reason: `${name} is a private name (.${suffix})` };
  return { ok: true, url: url.href };
}

/**
 * The host as written in `input` (lower case, without credentials or port), to compare with the
 * parsed one: the two differ for an IPv4 address given as an integer, in octal or hex, or with a
 * trailing dot.
 */
function rawHost(input: string): string {
  const authority = /^[a-z][a-z0-9+.-]*:[/\\]{2}([^/\\?#]*)/i.exec(input.trim())?.[1] ?? "";
  const hostPort = authority.slice(authority.lastIndexOf("@") + 1);
  const port = hostPort.lastIndexOf(":");
  return (port >= 0 && !hostPort.endsWith("]") ? hostPort.slice(0, port) : hostPort).toLowerCase();
}

/** An IPv4 (dotted decimal) or IPv6 address (brackets allowed) as 4 or 16 bytes; null otherwise. */
export function parseIp(text: string): number[] | null {
  const host = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  return host.includes(":") ? parseIpv6(host) : parseIpv4(host);
}

function parseIpv4(text: string): number[] | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  const bytes: number[] = [];
  for (const part of parts) {
    // No leading zeros: "010" is octal to some parsers and decimal to others.
    if (!/^(0|[1-9]\d{0,2})$/.test(part)) return null;
    const value = Number(part);
    if (value > 255) return null;
    bytes.push(value);
  }
  return bytes;
}

function parseIpv6(text: string): number[] | null {
  // A zone ("%eth0") names a local interface: never a public receiver.
  if (text.includes("%")) return null;
  let tail: number[] = [];
  let head = text;
  const lastColon = text.lastIndexOf(":");
  if (text.slice(lastColon + 1).includes(".")) {
    const v4 = parseIpv4(text.slice(lastColon + 1));
    if (v4 === null) return null;
    tail = [((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0)];
    head = text.slice(0, lastColon + 1);
    // "::1.2.3.4" leaves "::", "64:ff9b::1.2.3.4" leaves "64:ff9b::"; a single trailing colon is an empty group.
    if (head.endsWith(":") && !head.endsWith("::")) head = head.slice(0, -1);
  }
  const halves = head.split("::");
  if (halves.length > 2) return null;
  const groupsOf = (part: string): number[] | null => {
    if (part === "") return [];
    const groups: number[] = [];
    for (const group of part.split(":")) {
      if (!/^[0-9a-f]{1,4}$/i.test(group)) return null;
      groups.push(Number.parseInt(group, 16));
    }
    return groups;
  };
  const left = groupsOf(halves[0] ?? "");
  const right = halves.length === 2 ? groupsOf(halves[1] ?? "") : [];
  if (left === null || right === null) return null;
  const given = left.length + right.length + tail.length;
  let groups: number[];
  if (halves.length === 2) {
    if (given > 7) return null;
    groups = [...left, ...new Array<number>(8 - given).fill(0), ...right, ...tail];
  } else {
    if (given !== 8) return null;
    groups = [...left, ...tail];
  }
  return groups.flatMap((group) => [group >> 8, group & 0xff]);
}

function inV4(bytes: readonly number[], prefix: readonly number[], bits: number): boolean {
  for (let bit = 0; bit < bits; bit++) {
    const index = Math.floor(bit / 8);
    const mask = 0x80 >> (bit % 8);
    if (((bytes[index] ?? 0) & mask) !== ((prefix[index] ?? 0) & mask)) return false;
  }
  return true;
}

function classifyIpv4(b: readonly number[]): AddressClass {
  const is = (prefix: readonly number[], bits: number) => inV4(b, prefix, bits);
  if (is([169, 254, 169, 254], 32) || is([100, 100, 100, 200], 32)) return "metadata";
  if (is([0, 0, 0, 0], 8)) return "unspecified";
  if (is([127, 0, 0, 0], 8)) return "loopback";
  if (is([10, 0, 0, 0], 8) || is([172, 16, 0, 0], 12) || is([192, 168, 0, 0], 16)) return "private";
  if (is([169, 254, 0, 0], 16)) return "link_local";
  if (is([100, 64, 0, 0], 10)) return "shared";
  if (is([224, 0, 0, 0], 4)) return "multicast";
  if (
    is([192, 0, 0, 0], 24) || // IETF protocol assignments
    is([192, 0, 2, 0], 24) || // documentation
    is([198, 51, 100, 0], 24) ||
    is([203, 0, 113, 0], 24) ||
    is([192, 88, 99, 0], 24) || // 6to4 relay anycast
    is([198, 18, 0, 0], 15) || // benchmarking
    is([240, 0, 0, 0], 4) // reserved, broadcast
  )
    return "reserved";
  return "public";
}

/** The class of a parsed address (4 or 16 bytes). */
export function classifyAddress(bytes: readonly number[]): AddressClass {
  if (bytes.length === 4) return classifyIpv4(bytes);
  const is = (prefix: readonly number[], bits: number) => inV4(bytes, prefix, bits);
  const embedded = (from: number) => classifyIpv4(bytes.slice(from, from + 4));
  const zeros = (count: number) => new Array<number>(count).fill(0);
  if (bytes.every((byte) => byte === 0)) return "unspecified";
  if (is([...zeros(15), 1], 128)) return "loopback";
  // fd00:ec2::254, AWS's instance metadata over IPv6 (inside fc00::/7, named for the reason).
  if (is([0xfd, 0, 0x0e, 0xc2, ...zeros(10), 0x02, 0x54], 128)) return "metadata";
  // IPv4-mapped (::ffff:0:0/96): the IPv4 address decides.
  if (is([...zeros(10), 0xff, 0xff], 96)) return embedded(12);
  // IPv4-compatible (::/96, deprecated): refused, with the embedded address's class when it says more.
  if (is(zeros(12), 96)) {
    const kind = embedded(12);
    return kind === "public" ? "reserved" : kind;
  }
  // NAT64 (64:ff9b::/96) reaches the embedded IPv4 address; the local-use prefix is private.
  if (is([0, 0x64, 0xff, 0x9b, ...zeros(8)], 96)) return embedded(12);
  if (is([0, 0x64, 0xff, 0x9b, 0, 1], 48)) return "private";
  // 6to4 (2002::/16) carries an IPv4 address in bits 16-47.
  if (is([0x20, 0x02], 16)) return embedded(2);
  if (is([0x20, 0x01, 0, 0], 32)) return "reserved"; // Teredo
  if (is([0x20, 0x01, 0x0d, 0xb8], 32)) return "reserved"; // documentation
  if (is([0x01, 0, 0, 0, 0, 0, 0, 0], 64)) return "reserved"; // discard
  if (is([0xfc], 7)) return "private"; // unique local
  if (is([0xfe, 0x80], 10)) return "link_local";
  if (is([0xfe, 0xc0], 10)) return "private"; // site-local (deprecated)
  if (is([0xff], 8)) return "multicast";
  // Only 2000::/3 is allocated for global unicast.
  if (!is([0x20], 3)) return "reserved";
  return "public";
}
