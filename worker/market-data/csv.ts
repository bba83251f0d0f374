// RFC 4180 CSV, strict where leniency would silently change data: a field is either
// unquoted (no quotes inside) or entirely quoted (quotes doubled, commas and line breaks
// allowed). Line breaks may be CRLF, LF or CR; a leading UTF-8 BOM is ignored; an empty line
// is no record. Every record carries the 1-based line number it starts on, as an editor shows
// it, so errors can point at the line the user has to fix.

export interface CsvRecord {
  /** The line the record starts on (a quoted field may span several lines). */
  line: number;
  fields: string[];
}

export interface CsvSyntaxError {
  line: number;
  reason: string;
}

export interface CsvParseResult {
  records: CsvRecord[];
  /** Records with a syntax error are left out of `records`; an unterminated quote ends parsing. */
  errors: CsvSyntaxError[];
}

const quote = 0x22;
const comma = 0x2c;
const lf = 0x0a;
const cr = 0x0d;

export function parseCsv(text: string): CsvParseResult {
  const records: CsvRecord[] = [];
  const errors: CsvSyntaxError[] = [];
  const n = text.length;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;

  const atLineEnd = (at: number) => {
    const c = text.charCodeAt(at);
    return c === lf || c === cr;
  };

  while (i < n) {
    if (atLineEnd(i)) {
      // An empty line: no record.
      i += text.charCodeAt(i) === cr && text.charCodeAt(i + 1) === lf ? 2 : 1;
      line++;
      continue;
    }
    const recordLine = line;
    const fields: string[] = [];
    let problem: string | null = null;
    for (;;) {
      if (i < n && text.charCodeAt(i) === quote) {
        i++;
        let value = "";
        let start = i;
        let closed = false;
        while (i < n) {
          const c = text.charCodeAt(i);
          if (c === quote) {
            if (text.charCodeAt(i + 1) === quote) {
              value += text.slice(start, i + 1);
              i += 2;
              start = i;
              continue;
            }
            value += text.slice(start, i);
            i++;
            closed = true;
            break;
          }
          if (c === lf || (c === cr && text.charCodeAt(i + 1) !== lf)) line++;
          i++;
        }
        if (!closed) {
          errors.push({ line: recordLine, reason: "a quoted field is never closed (missing closing quote)" });
          return { records, errors };
        }
        fields.push(value);
        if (i < n && text.charCodeAt(i) !== comma && !atLineEnd(i)) {
          problem ??= "text after the closing quote of a quoted field";
          while (i < n && text.charCodeAt(i) !== comma && !atLineEnd(i)) i++;
        }
      } else {
        const start = i;
        while (i < n) {
          const c = text.charCodeAt(i);
          if (c === comma || c === lf || c === cr) break;
          if (c === quote) problem ??= "a quote inside an unquoted field (quote the whole field and double the quote)";
          i++;
        }
        fields.push(text.slice(start, i));
      }
      if (i < n && text.charCodeAt(i) === comma) {
        i++;
        continue;
      }
      if (i < n) {
        i += text.charCodeAt(i) === cr && text.charCodeAt(i + 1) === lf ? 2 : 1;
        line++;
      }
      break;
    }
    if (problem === null) records.push({ line: recordLine, fields });
    else errors.push({ line: recordLine, reason: problem });
  }
  return { records, errors };
}

/**
 * Quotes a field only when it has to (comma, quote, line break, or a leading BOM the parser would
 * drop) or when the record would otherwise read as an empty line.
 */
export function formatCsv(rows: readonly (readonly string[])[], lineEnding: "\r\n" | "\n" = "\r\n"): string {
  let out = "";
  for (const row of rows) {
    if (row.length === 1 && row[0] === "") {
      out += `""${lineEnding}`;
      continue;
    }
    out += row.map(formatField).join(",") + lineEnding;
  }
  return out;
}

function formatField(field: string): string {
  return /^\uFEFF|[",\r\n]/.test(field) ? `"${field.replaceAll('"', '""')}"` : field;
}
