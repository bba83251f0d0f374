// The dashboard's one date format (issue 20, point 9): parseIsoDate accepts exactly the real
// dates written YYYY-MM-DD (checked against Date.UTC's calendar), dateProblem says why anything
// else is refused, formatInstant is UTC whatever the machine's zone, typedDate adds the hyphens a
// phone's numeric keypad lacks, and an expired token's reason uses the same format.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  dateProblem,
  formatDate,
  formatInstant,
  missing,
  parseIsoDate,
  typedDate,
} from "../../../client/src/lib/format.ts";
import { readToken } from "../../../client/src/lib/token.ts";

const pad = (value: number, width: number) => String(value).padStart(width, "0");

/** Whether y-m-d names a real day, by Date's own (proleptic Gregorian, UTC) calendar. */
function realByDate(year: number, month: number, day: number): boolean {
  const date = new Date(Date.UTC(2000, 0, 1));
  // setUTCFullYear, unlike Date.UTC, does not map years 0–99 to 1900–1999.
  date.setUTCFullYear(year, month - 1, day);
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

describe("parseIsoDate", () => {
  it("accepts y-m-d written YYYY-MM-DD exactly when Date.UTC's calendar has that day", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 9999 }),
        fc.integer({ min: 0, max: 13 }),
        fc.integer({ min: 0, max: 32 }),
        (year, month, day) => {
          const text = `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}`;
          expect(parseIsoDate(text)).toBe(realByDate(year, month, day) ? text : null);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("round-trips every day of 1900–2199 through Date's ISO string", () => {
    const first = Date.UTC(1900, 0, 1);
    const last = Date.UTC(2199, 11, 31);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: (last - first) / 86_400_000 }), (offset) => {
        const iso = new Date(first + offset * 86_400_000).toISOString().slice(0, 10);
        expect(parseIsoDate(iso)).toBe(iso);
        expect(parseIsoDate(` ${iso} `)).toBe(iso);
      }),
    );
  });

  it("refuses other forms and impossible days", () => {
    for (const text of [
      "12/01/2026",
      "2026-2-1",
      "2026/02/01",
      "20260201",
      "2026-02-01T00:00:00Z",
      "",
      "2026-02-30",
      "2026-13-01",
      "2026-00-10",
      "1900-02-29",
      "2026-04-31",
    ])
      expect(parseIsoDate(text), text).toBeNull();
    expect(parseIsoDate("2000-02-29")).toBe("2000-02-29");
    expect(parseIsoDate("2028-02-29")).toBe("2028-02-29");
  });

  it("answers any string with null or a YYYY-MM-DD date", () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        const parsed = parseIsoDate(text);
        if (parsed !== null) expect(parsed).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      }),
    );
  });
});

describe("dateProblem", () => {
  it("names the form for a malformed date and the calendar for an impossible one", () => {
    expect(dateProblem("12/01/2026")).toBe("12/01/2026 is not a date in YYYY-MM-DD form");
    expect(dateProblem("2026-2-1")).toBe("2026-2-1 is not a date in YYYY-MM-DD form");
    expect(dateProblem("2026-02-30")).toBe("2026-02-30 is not a real date: February 2026 has 28 days");
    expect(dateProblem("2028-02-30")).toBe("2028-02-30 is not a real date: February 2028 has 29 days");
    expect(dateProblem("2026-13-01")).toBe("2026-13-01 is not a real date: the month must be 01 to 12");
    expect(dateProblem("2026-06-30")).toBeNull();
  });

  it("holds a real date to its bounds", () => {
    expect(dateProblem("2026-06-30", { max: "2026-06-29" })).toBe("2026-06-30 is after 2026-06-29, the latest allowed");
    expect(dateProblem("2026-06-30", { min: "2026-07-01" })).toBe(
      "2026-06-30 is before 2026-07-01, the earliest allowed",
    );
    expect(dateProblem("2026-06-30", { min: "2026-06-30", max: "2026-06-30" })).toBeNull();
  });
});

describe("formatInstant and formatDate", () => {
  it("write any instant as YYYY-MM-DD HH:MM UTC and its UTC date, from a number, a string or a Date", () => {
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(1970, 0, 1), max: Date.UTC(2199, 11, 31) }), (ms) => {
        const date = new Date(ms);
        const expected =
          `${pad(date.getUTCFullYear(), 4)}-${pad(date.getUTCMonth() + 1, 2)}-${pad(date.getUTCDate(), 2)} ` +
          `${pad(date.getUTCHours(), 2)}:${pad(date.getUTCMinutes(), 2)} UTC`;
        expect(formatInstant(ms)).toBe(expected);
        expect(formatInstant(date.toISOString())).toBe(expected);
        expect(formatInstant(date)).toBe(expected);
        expect(formatDate(ms)).toBe(expected.slice(0, 10));
      }),
    );
  });

  it("read an offset timestamp in UTC and leave an ISO date as it is", () => {
    expect(formatInstant("2026-12-03T23:30:00-05:00")).toBe("2026-12-04 04:30 UTC");
    expect(formatDate("2026-12-03T23:30:00-05:00")).toBe("2026-12-04");
    expect(formatDate("2026-12-03")).toBe("2026-12-03");
  });

  it("show a missing or unreadable instant as a dash", () => {
    for (const value of [null, undefined, "yesterday", Number.NaN]) {
      expect(formatInstant(value)).toBe(missing);
      expect(formatDate(value)).toBe(missing);
    }
  });
});

describe("typedDate", () => {
  it("adds the hyphens to digits typed forward", () => {
    const typed = [..."20261201"].reduce((text, digit) => typedDate(text, text + digit), "");
    expect(typed).toBe("2026-12-01");
    expect(typedDate("", "20261201")).toBe("2026-12-01");
    expect(typedDate("2026", "20261")).toBe("2026-1");
    expect(typedDate("2026-12", "2026-120")).toBe("2026-12-0");
  });

  it("leaves deleting and other text alone", () => {
    expect(typedDate("2026-12-", "2026-12")).toBe("2026-12");
    expect(typedDate("2026-1", "2026-")).toBe("2026-");
    expect(typedDate("12/01/202", "12/01/2026")).toBe("12/01/2026");
    expect(typedDate("2026-12-0", "2026-12-01")).toBe("2026-12-01");
  });
});

describe("an expired token's reason", () => {
  it("gives the expiry as YYYY-MM-DD HH:MM UTC", () => {
    const part = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
    const exp = Date.UTC(2026, 11, 3, 9, 5) / 1000;
    const token = `${part({ alg: "HS256" })}.${part({ sub: "demo", exp })}.signature`;
    const read = readToken(token, Date.UTC(2026, 11, 4));
    expect(read).toEqual({ ok: false, reason: "the token expired 2026-12-03 09:05 UTC" });
  });
});
