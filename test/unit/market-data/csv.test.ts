import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatCsv, parseCsv } from "../../../worker/market-data/csv.ts";

const fieldsOf = (text: string) => parseCsv(text).records.map((record) => record.fields);

describe("parseCsv", () => {
  it("reads plain records with their line numbers", () => {
    expect(parseCsv("a,b,c\n1,2,3\n")).toEqual({
      records: [
        { line: 1, fields: ["a", "b", "c"] },
        { line: 2, fields: ["1", "2", "3"] },
      ],
      errors: [],
    });
  });

  it("reads quoted fields with commas, doubled quotes and line breaks, and counts lines inside them", () => {
    const text = 'name,note\n"Smith, J.","said ""hi"""\n"multi\nline\r\nfield",x\nlast,row';
    expect(parseCsv(text).records).toEqual([
      { line: 1, fields: ["name", "note"] },
      { line: 2, fields: ["Smith, J.", 'said "hi"'] },
      { line: 3, fields: ["multi\nline\r\nfield", "x"] },
      { line: 6, fields: ["last", "row"] },
    ]);
  });

  it("accepts CRLF, LF and CR line breaks, a BOM, and a missing or present trailing newline", () => {
    const expected = [
      ["a", "b"],
      ["1", "2"],
    ];
    expect(fieldsOf("a,b\r\n1,2\r\n")).toEqual(expected);
    expect(fieldsOf("a,b\n1,2")).toEqual(expected);
    expect(fieldsOf("a,b\r1,2\r")).toEqual(expected);
    expect(fieldsOf("\uFEFFa,b\r\n1,2")).toEqual(expected);
  });

  it("skips empty lines but keeps counting them", () => {
    expect(parseCsv("a\n\n\r\nb\n\n").records).toEqual([
      { line: 1, fields: ["a"] },
      { line: 4, fields: ["b"] },
    ]);
  });

  it("keeps empty fields, including a trailing one and a quoted empty record", () => {
    expect(fieldsOf('a,,b,\n,\n""\n')).toEqual([["a", "", "b", ""], ["", ""], [""]]);
  });

  it("keeps spaces as they are (validation trims what it needs to)", () => {
    expect(fieldsOf(" a , b ")).toEqual([[" a ", " b "]]);
  });

  it("reports a stray quote and text after a closing quote on the record's line, and goes on", () => {
    expect(parseCsv('a,b\nx"y,1\n"ok"z,2\n3,4\n')).toEqual({
      records: [
        { line: 1, fields: ["a", "b"] },
        { line: 4, fields: ["3", "4"] },
      ],
      errors: [
        { line: 2, reason: expect.stringContaining("quote inside an unquoted field") },
        { line: 3, reason: expect.stringContaining("after the closing quote") },
      ],
    });
  });

  it("reports an unterminated quote at the line where the field starts", () => {
    const result = parseCsv('a,b\n1,2\n3,"never\nclosed\n');
    expect(result.records).toHaveLength(2);
    expect(result.errors).toEqual([{ line: 3, reason: expect.stringContaining("never closed") }]);
  });

  it("round-trips any rows through formatCsv (property)", () => {
    const field = fc.string({
      unit: fc.constantFrom("a", "Z", "1", " ", ",", '"', "\n", "\r", "\r\n", "é", "\uFEFF", "\t"),
      maxLength: 8,
    });
    const rows = fc.array(fc.array(field, { minLength: 1, maxLength: 5 }), { maxLength: 12 });
    fc.assert(
      fc.property(rows, fc.constantFrom("\r\n" as const, "\n" as const), (input, lineEnding) => {
        const parsed = parseCsv(formatCsv(input, lineEnding));
        expect(parsed.errors).toEqual([]);
        expect(parsed.records.map((record) => record.fields)).toEqual(input);
      }),
      { numRuns: 500 },
    );
  });

  it("numbers records by the line they start on, for any rows (property)", () => {
    const field = fc.string({ unit: fc.constantFrom("x", ",", "\n", '"'), maxLength: 4 });
    fc.assert(
      fc.property(
        fc.array(fc.array(field, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 8 }),
        (input) => {
          const text = formatCsv(input, "\n");
          const starts = [1];
          for (const row of input.slice(0, -1)) starts.push(starts.at(-1)! + 1 + row.join("").split("\n").length - 1);
          expect(parseCsv(text).records.map((record) => record.line)).toEqual(starts);
        },
      ),
    );
  });
});
