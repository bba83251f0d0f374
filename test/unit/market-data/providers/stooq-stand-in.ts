// A local stand-in for Stooq's daily CSV download (GET /q/d/l/?s=…&i=d&d1=…&d2=…&apikey=…),
// answering per ticker the way Stooq does (see the header of worker/market-data/providers/stooq.ts):
// CSV `Date,Open,High,Low,Close,Volume` filtered to d1..d2, the plain texts `No data` and
// `Exceeded the daily hits limit` with HTTP 200, an HTML page when the API key is missing or
// wrong. Other behaviours (a hang, a 503) are scripted per ticker. It counts requests per ticker
// and the most requests in flight at once, so tests can check what the provider did on the wire.
import { createServer } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface StandInRequest {
  ticker: string;
  params: Record<string, string>;
  path: string;
}

/** What to answer for one request; `attempt` counts this ticker's requests from 1. */
export type Script = (request: StandInRequest, attempt: number) => Answer;

export type Answer =
  | { status?: number; body: string; contentType?: string; delayMs?: number }
  /** Headers never sent: the request hangs until the client gives up. */
  | { hang: "headers" }
  /** Headers and the start of the body sent, the rest never. */
  | { hang: "body"; partial: string };

export interface StandIn {
  baseUrl: string;
  requests: StandInRequest[];
  countFor(ticker: string): number;
  maxInFlight(): number;
  close(): Promise<void>;
}

export const standInKey = "k3y-s3cr3t/+=";

export const csvHeader = "Date,Open,High,Low,Close,Volume";

/** Stooq's CSV of `lines` ("date,open,high,low,close[,volume]"), kept to d1..d2 like Stooq does. */
export function stooqCsv(lines: readonly string[], header = csvHeader): Script {
  return (request) => {
    const d1 = toIso(request.params["d1"]);
    const d2 = toIso(request.params["d2"]);
    const rows = lines.filter((line) => {
      const date = line.slice(0, 10);
      return (d1 === null || date >= d1) && (d2 === null || date <= d2);
    });
    if (rows.length === 0) return { body: "No data" };
    return { body: `${[header, ...rows].join("\r\n")}\r\n`, contentType: "text/csv" };
  };
}

export const noData: Script = () => ({ body: "No data" });
export const dailyLimit: Script = () => ({ body: "Exceeded the daily hits limit" });
export const htmlPage: Script = () => ({
  body:
    "<!DOCTYPE html><html><head><title>Stooq - Error</title></head>" +
    "<body><p>Service unavailable, try later.</p></body></html>",
  contentType: "text/html; charset=utf-8",
});

const apiKeyPage = (given: string) =>
  `<!DOCTYPE html>\n<html><head><title>Stooq - get your apikey</title></head><body>` +
  `<p>The key "${given}" is not valid. ` +
  "To download data get your apikey at https://stooq.com/q/d/?s=spy.us&get_apikey</p></body></html>";

export async function startStandIn(
  scripts: Readonly<Record<string, Script>>,
  options: { apiKey?: string } = {},
): Promise<StandIn> {
  const apiKey = options.apiKey ?? standInKey;
  const requests: StandInRequest[] = [];
  const counts = new Map<string, number>();
  let inFlight = 0;
  let maxInFlight = 0;

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://stand-in");
    const params = Object.fromEntries(url.searchParams);
    const ticker = params["s"] ?? "";
    const request: StandInRequest = { ticker, params, path: url.pathname };
    requests.push(request);
    const attempt = (counts.get(ticker) ?? 0) + 1;
    counts.set(ticker, attempt);
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    let done = false;
    const finish = () => {
      if (!done) {
        done = true;
        inFlight--;
      }
    };
    res.on("close", finish);

    let answer: Answer;
    if (url.pathname !== "/q/d/l/")
      answer = { status: 404, body: "<html><body>Not found</body></html>", contentType: "text/html" };
    else if (params["apikey"] !== apiKey)
      answer = { body: apiKeyPage(params["apikey"] ?? ""), contentType: "text/html; charset=utf-8" };
    else answer = (scripts[ticker] ?? noData)(request, attempt);

    if ("hang" in answer) {
      if (answer.hang === "body") {
        res.writeHead(200, { "content-type": "text/csv" });
        res.write(answer.partial);
      }
      return; // never ends; the client's timeout closes the connection
    }
    const send = () => {
      res.writeHead(answer.status ?? 200, { "content-type": answer.contentType ?? "text/plain" });
      res.end(answer.body);
    };
    if (answer.delayMs) setTimeout(send, answer.delayMs);
    else send();
  };

  const server: Server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    countFor: (ticker) => counts.get(ticker) ?? 0,
    maxInFlight: () => maxInFlight,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A port that was just listening and is not any more: connecting to it is refused. */
export async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

function toIso(yyyymmdd: string | undefined): string | null {
  if (!yyyymmdd || !/^\d{8}$/.test(yyyymmdd)) return null;
  return `${yyyymmdd.slice(0, 4)}-${yyyymmdd.slice(4, 6)}-${yyyymmdd.slice(6, 8)}`;
}
