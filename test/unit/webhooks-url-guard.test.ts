// The webhook SSRF guard (worker/webhooks/url-guard.ts) with its DNS-over-HTTPS resolver
// (worker/webhooks/doh.ts): every forbidden address class refused in production, as a literal
// and as a DNS answer, and a public https URL allowed. DNS answers come from a fake fetch that
// serves dns-json as cloudflare-dns.com does (recorded-style), so the tests never touch the network.
import { describe, expect, it } from "vitest";
import { cachingResolver, dohResolver, type Fetcher } from "../../worker/webhooks/doh.ts";
import {
  checkWebhookUrl,
  classifyAddress,
  isProduction,
  parseIp,
  type AddressClass,
  type Resolver,
} from "../../worker/webhooks/url-guard.ts";

/** A zone: the A and AAAA answers per name (a CNAME first where given), or a DNS status. */
type Zone = Record<string, { A?: string[]; AAAA?: string[]; cname?: string; status?: number; http?: number }>;

/** dns-json as cloudflare-dns.com serves it, for `zone`; records every query. */
function fakeDoh(zone: Zone): { fetch: Fetcher; queries: string[] } {
  const queries: string[] = [];
  const fetch: Fetcher = async (input, init) => {
    const url = new URL(input);
    expect(url.origin + url.pathname).toBe("https://cloudflare-dns.com/dns-query");
    expect(new Headers(init?.headers).get("accept")).toBe("application/dns-json");
    const name = url.searchParams.get("name") ?? "";
    const type = url.searchParams.get("type") === "AAAA" ? "AAAA" : "A";
    queries.push(`${type} ${name}`);
    const entry = zone[name];
    if (entry?.http !== undefined) return new Response("upstream trouble", { status: entry.http });
    const typeCode = type === "A" ? 1 : 28;
    const answer = [
      ...(entry?.cname ? [{ name: `${name}.`, type: 5, TTL: 300, data: `${entry.cname}.` }] : []),
      ...(entry?.[type] ?? []).map((data) => ({ name: `${entry?.cname ?? name}.`, type: typeCode, TTL: 60, data })),
    ];
    const status = entry === undefined ? 3 : (entry.status ?? 0);
    return Response.json(
      {
        Status: status,
        TC: false,
        RD: true,
        RA: true,
        AD: false,
        CD: false,
        Question: [{ name: `${name}.`, type: typeCode }],
        ...(answer.length > 0 && status === 0 ? { Answer: answer } : {}),
      },
      { headers: { "content-type": "application/dns-json" } },
    );
  };
  return { fetch, queries };
}

const zone: Zone = {
  "hooks.example.com": { A: ["93.184.215.14"], AAAA: ["2606:2800:21f:cb07:6820:80da:af6b:8b2c"] },
  "v4only.example.com": { A: ["104.16.132.229"], AAAA: [] },
  "private.example.com": { A: ["10.0.0.5"] },
  "rfc1918-172.example.com": { A: ["172.20.1.1"] },
  "home.example.com": { A: ["192.168.1.20"] },
  "127.0.0.1.nip.io": { A: ["127.0.0.1"] },
  "loop6.example.com": { AAAA: ["::1"] },
  "linklocal.example.com": { A: ["169.254.10.10"] },
  "metadata.example.com": { A: ["169.254.169.254"] },
  "aws6.example.com": { AAAA: ["fd00:ec2::254"] },
  "ula.example.com": { AAAA: ["fd12:3456:789a::1"] },
  "fe80.example.com": { AAAA: ["fe80::1ff:fe23:4567:890a"] },
  "zero.example.com": { A: ["0.0.0.0"] },
  "cgnat.example.com": { A: ["100.64.12.1"] },
  "mapped.example.com": { AAAA: ["::ffff:169.254.169.254"] },
  "mixed.example.com": { A: ["93.184.215.14", "10.1.1.1"] },
  "alias.example.com": { cname: "internal-lb.example.net", A: ["10.20.30.40"] },
  "public-alias.example.com": { cname: "edge.example.net", A: ["104.16.132.229"] },
  "empty.example.com": { A: [], AAAA: [] },
  "servfail.example.com": { status: 2 },
  "broken-resolver.example.com": { http: 502 },
  "notanip.example.com": { A: ["not-an-address"] },
};

function production(fetch: Fetcher): { production: true; resolve: Resolver } {
  return { production: true, resolve: dohResolver({ fetch }) };
}

describe("the URL guard in production", () => {
  const { fetch } = fakeDoh(zone);

  it("allows a public https URL whose every address is public, normalized", async () => {
    expect(await checkWebhookUrl("https://hooks.example.com/factor?x=1", production(fetch))).toEqual({
      ok: true,
      url: "https://hooks.example.com/factor?x=1",
    });
    expect(await checkWebhookUrl("https://HOOKS.example.com:443/a", production(fetch))).toEqual({
      ok: true,
      url: "https://hooks.example.com/a",
    });
    expect((await checkWebhookUrl("https://v4only.example.com/", production(fetch))).ok).toBe(true);
    expect((await checkWebhookUrl("https://public-alias.example.com/", production(fetch))).ok).toBe(true);
    // A public address literal needs no lookup.
    const quiet = fakeDoh({});
    expect(await checkWebhookUrl("https://93.184.215.14/hook", production(quiet.fetch))).toEqual({
      ok: true,
      url: "https://93.184.215.14/hook",
    });
    expect((await checkWebhookUrl("https://[2606:4700::6810:84e5]/hook", production(quiet.fetch))).ok).toBe(true);
    expect(quiet.queries).toEqual([]);
  });

  const refusedLiterals: [string, string, RegExp][] = [
    ["scheme", "http://hooks.example.com/x", /scheme must be https/],
    ["scheme", "ftp://hooks.example.com/x", /scheme must be https/],
    ["loopback", "https://127.0.0.1/", /loopback/],
    ["loopback", "https://127.200.3.4/", /loopback/],
    ["loopback", "https://[::1]/", /loopback/],
    ["loopback", "https://localhost/", /loopback name/],
    ["loopback", "https://api.localhost/", /loopback name/],
    ["loopback", "https://localhost./", /loopback name/],
    ["private", "https://10.1.2.3/", /private network/],
    ["private", "https://172.16.0.1/", /private network/],
    ["private", "https://172.31.255.255/", /private network/],
    ["private", "https://192.168.1.1/", /private network/],
    ["private", "https://[fc00::1]/", /private network/],
    ["private", "https://[fd12:3456::1]/", /private network/],
    ["link-local", "https://169.254.1.1/", /link-local/],
    ["link-local", "https://[fe80::1]/", /link-local/],
    ["metadata", "https://169.254.169.254/latest/meta-data/", /cloud metadata service\)/],
    ["metadata", "https://[fd00:ec2::254]/", /cloud metadata service\)/],
    ["metadata", "https://100.100.100.200/", /cloud metadata service\)/],
    ["metadata", "https://metadata.google.internal/computeMetadata/v1/", /metadata service name/],
    ["metadata", "https://metadata/", /metadata service name/],
    ["metadata", "https://instance-data.ec2.internal/", /metadata service name/],
    ["unspecified", "https://0.0.0.0/", /unspecified/],
    ["unspecified", "https://[::]/", /unspecified/],
    ["CGNAT", "https://100.64.0.1/", /CGNAT/],
    ["CGNAT", "https://100.127.255.254/", /CGNAT/],
    ["IPv4-mapped", "https://[::ffff:127.0.0.1]/", /loopback/],
    ["IPv4-mapped", "https://[::ffff:10.0.0.1]/", /private network/],
    ["IPv4-mapped", "https://[::ffff:a9fe:a9fe]/", /cloud metadata/],
    ["IPv4-mapped", "https://[::ffff:100.64.0.1]/", /CGNAT/],
    ["IPv4-compatible", "https://[::127.0.0.1]/", /loopback/],
    ["NAT64", "https://[64:ff9b::10.0.0.1]/", /private network/],
    ["6to4", "https://[2002:7f00:1::]/", /loopback/],
    ["6to4", "https://[2002:a9fe:a9fe::1]/", /cloud metadata/],
    ["multicast", "https://224.0.0.1/", /multicast/],
    ["reserved", "https://255.255.255.255/", /reserved/],
    ["reserved", "https://192.0.2.10/", /reserved/],
    ["reserved", "https://[2001:db8::1]/", /reserved/],
    ["integer form", "https://2130706433/", /dotted decimal/],
    ["integer form", "https://0x7f000001/", /dotted decimal/],
    ["integer form", "https://017700000001/", /dotted decimal/],
    ["integer form", "https://0x7f.1/", /dotted decimal/],
    ["integer form", "https://127.1/", /dotted decimal/],
    ["integer form", "https://0251.0376.0251.0376/", /dotted decimal/],
    // A public address in integer form is refused too: no receiver needs one.
    ["integer form", "https://1572395022/", /dotted decimal/],
    ["integer form", "https://%31%32%37.0.0.1/", /dotted decimal/],
    ["credentials", "https://user:pass@hooks.example.com/", /credentials/],
    ["credentials", "https://token@hooks.example.com/", /credentials/],
    ["port", "https://hooks.example.com:8443/", /default port/],
    ["port", "https://hooks.example.com:22/", /default port/],
    ["fragment", "https://hooks.example.com/x#frag", /fragment/],
    ["private name", "https://intranet/hook", /single-label/],
    ["private name", "https://printer.local/", /private name \(\.local\)/],
    ["private name", "https://db.corp.internal/", /private name \(\.internal\)/],
    ["private name", "https://router.home.arpa/", /private name/],
    ["not a URL", "hooks.example.com/x", /not an absolute URL/],
    ["too long", `https://hooks.example.com/${"a".repeat(2100)}`, /longer than 2048/],
  ];

  it.each(refusedLiterals)("refuses %s: %s", async (_class, url, reason) => {
    const spy = fakeDoh(zone);
    const result = await checkWebhookUrl(url, production(spy.fetch));
    expect(result).toEqual({ ok: false, reason: expect.stringMatching(reason) });
    // Decided from the text alone: no DNS query.
    expect(spy.queries).toEqual([]);
  });

  const refusedAnswers: [string, string, RegExp][] = [
    ["a private address", "private.example.com", /resolves to 10\.0\.0\.5 \(private network\)/],
    ["172.16/12", "rfc1918-172.example.com", /resolves to 172\.20\.1\.1 \(private network\)/],
    ["192.168/16", "home.example.com", /resolves to 192\.168\.1\.20 \(private network\)/],
    ["loopback (a public name for 127.0.0.1)", "127.0.0.1.nip.io", /resolves to 127\.0\.0\.1 \(loopback\)/],
    ["IPv6 loopback", "loop6.example.com", /resolves to ::1 \(loopback\)/],
    ["link-local", "linklocal.example.com", /\(link-local\)/],
    ["the metadata address", "metadata.example.com", /resolves to 169\.254\.169\.254 \(cloud metadata service\)/],
    ["AWS's IPv6 metadata address", "aws6.example.com", /resolves to fd00:ec2::254 \(cloud metadata service\)/],
    ["unique local IPv6", "ula.example.com", /\(private network\)/],
    ["link-local IPv6", "fe80.example.com", /\(link-local\)/],
    ["0.0.0.0", "zero.example.com", /\(unspecified\)/],
    ["CGNAT", "cgnat.example.com", /\(shared address space \(CGNAT/],
    ["an IPv4-mapped metadata address", "mapped.example.com", /::ffff:169\.254\.169\.254 \(cloud metadata service\)/],
    ["one private among public ones", "mixed.example.com", /resolves to 10\.1\.1\.1 \(private network\)/],
    ["a CNAME to a private address", "alias.example.com", /resolves to 10\.20\.30\.40 \(private network\)/],
    ["no addresses", "empty.example.com", /has no A or AAAA records/],
    [
      "NXDOMAIN",
      "nowhere.example.com",
      /could not resolve nowhere\.example\.com: the name does not exist \(NXDOMAIN\)/,
    ],
    ["SERVFAIL", "servfail.example.com", /could not resolve servfail\.example\.com: the A lookup failed \(SERVFAIL\)/],
    ["a resolver error", "broken-resolver.example.com", /could not resolve .*: the DNS resolver answered HTTP 502/],
    ["an answer that is not an address", "notanip.example.com", /resolves to not-an-address, which is not an IP/],
  ];

  it.each(refusedAnswers)("refuses a host whose DNS gives %s (%s)", async (_what, host, reason) => {
    const spy = fakeDoh(zone);
    const result = await checkWebhookUrl(`https://${host}/hook`, production(spy.fetch));
    expect(result).toEqual({ ok: false, reason: expect.stringMatching(reason) });
    expect(spy.queries).toEqual(expect.arrayContaining([`A ${host}`]));
  });

  it("refuses when DNS cannot be reached or does not answer in time, saying so", async () => {
    const unreachable: Fetcher = async () => {
      throw new TypeError("Network connection lost.");
    };
    expect(await checkWebhookUrl("https://hooks.example.com/", production(unreachable))).toEqual({
      ok: false,
      reason:
        "could not resolve hooks.example.com: the DNS resolver could not be reached (Network connection lost.); " +
        "try again later",
    });
    const slow: Fetcher = async () => {
      throw new DOMException("The operation was aborted due to timeout", "TimeoutError");
    };
    expect(await checkWebhookUrl("https://hooks.example.com/", production(slow))).toEqual({
      ok: false,
      reason: expect.stringMatching(/the DNS resolver did not answer within 5000 ms/),
    });
    const notJson: Fetcher = async () => new Response("<html>", { status: 200 });
    expect(await checkWebhookUrl("https://hooks.example.com/", production(notJson))).toEqual({
      ok: false,
      reason: expect.stringMatching(/not dns-json/),
    });
    expect(await checkWebhookUrl("https://hooks.example.com/", { production: true })).toEqual({
      ok: false,
      reason: expect.stringMatching(/no DNS resolver/),
    });
  });

  it("asks the resolver once per name and type when cached", async () => {
    const spy = fakeDoh(zone);
    const resolve = cachingResolver(dohResolver({ fetch: spy.fetch }));
    for (let i = 0; i < 3; i++) await checkWebhookUrl("https://hooks.example.com/", { production: true, resolve });
    expect(spy.queries.sort()).toEqual(["A hooks.example.com", "AAAA hooks.example.com"]);
  });
});

describe("the URL guard in development", () => {
  const development = (spy: { fetch: Fetcher }) => ({ production: false, resolve: dohResolver({ fetch: spy.fetch }) });

  it("allows loopback over http on any port (the local receiver of the tests), without DNS", async () => {
    const spy = fakeDoh(zone);
    for (const url of [
      "http://127.0.0.1:8787/hook",
      "http://localhost:3000/",
      "http://api.localhost/",
      "http://[::1]:9000/x",
      "https://hooks.example.com:8443/x",
      "http://private.example.com/",
    ])
      expect((await checkWebhookUrl(url, development(spy))).ok, url).toBe(true);
    expect(spy.queries).toEqual([]);
  });

  it("still refuses every other class, credentials and integer forms", async () => {
    const spy = fakeDoh(zone);
    for (const url of [
      "http://10.0.0.1/",
      "http://192.168.0.10:8080/",
      "http://169.254.169.254/latest/meta-data/",
      "http://metadata.google.internal/",
      "http://[fe80::1]/",
      "http://100.64.0.1/",
      "http://0.0.0.0/",
      "http://[::ffff:10.0.0.1]/",
      "http://2130706433/",
      "http://user:pw@127.0.0.1/",
      "http://intranet/",
      "ftp://127.0.0.1/",
    ])
      expect((await checkWebhookUrl(url, development(spy))).ok, url).toBe(false);
  });

  it("is production unless ENVIRONMENT is exactly development", () => {
    expect(isProduction({ ENVIRONMENT: "development" })).toBe(false);
    expect(isProduction({ ENVIRONMENT: "production" })).toBe(true);
    expect(isProduction({ ENVIRONMENT: "Development" })).toBe(true);
    expect(isProduction({})).toBe(true);
  });
});

describe("address parsing and classes", () => {
  const cases: [string, AddressClass][] = [
    ["8.8.8.8", "public"],
    ["93.184.215.14", "public"],
    ["2606:4700:4700::1111", "public"],
    ["::ffff:8.8.8.8", "public"],
    ["64:ff9b::8.8.8.8", "public"],
    ["2002:808:808::1", "public"],
    ["127.0.0.1", "loopback"],
    ["::1", "loopback"],
    ["0:0:0:0:0:0:0:1", "loopback"],
    ["10.255.255.255", "private"],
    ["172.15.255.255", "public"],
    ["172.32.0.0", "public"],
    ["64:ff9b:1::a", "private"],
    ["169.254.0.1", "link_local"],
    ["febf::1", "link_local"],
    ["fec0::1", "private"],
    ["169.254.169.254", "metadata"],
    ["fd00:ec2:0:0:0:0:0:254", "metadata"],
    ["0.1.2.3", "unspecified"],
    ["::", "unspecified"],
    ["100.63.255.255", "public"],
    ["100.128.0.0", "public"],
    ["100.64.0.0", "shared"],
    ["239.1.2.3", "multicast"],
    ["ff02::1", "multicast"],
    ["198.18.0.1", "reserved"],
    ["2001::1", "reserved"],
    ["100::1", "reserved"],
    ["4000::1", "reserved"],
  ];
  it.each(cases)("%s is %s", (address, kind) => {
    const bytes = parseIp(address);
    expect(bytes).not.toBeNull();
    expect(classifyAddress(bytes ?? [])).toBe(kind);
  });

  it("parses only well-formed addresses", () => {
    for (const text of ["1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1::2::3", "12345::1", "fe80::1%eth0", "g::1"])
      expect(parseIp(text), text).toBeNull();
    expect(parseIp("[::ffff:1.2.3.4]")).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4]);
    expect(parseIp("1:2:3:4:5:6:7:8")).toHaveLength(16);
    expect(parseIp("1:2:3:4:5:6:7:8:9")).toBeNull();
  });
});
