// Control characters in inputs: no input of this API has a use for them, and the database
// protocol refuses NUL in a text parameter (a 500 before this check). The same walk refuses
// `__proto__` keys and JSON nested deeper than `maxDepth` (a stack overflow in the schema).
// worker/http/validation.ts checks every query, path and JSON
// body with `controlCharacterErrors` before its schema; worker/api/fields.ts's text fields use
// `controlCharacterMessage` so the CSV import (which parses with the schemas) refuses them too.
import { formatPath } from "../market-data/price-upload.ts";

/** One problem of an input: `path` as `prices[3].close`, `message` in words. */
export interface ControlCharacterError {
  path: string;
  message: string;
}

/**
 * Control characters no input of this API has a use for. Query values and path segments
 * ("line") take none of C0 or DEL; JSON bodies ("text") may carry tab, line feed and carriage
 * return (a scenario's description), nothing else. NUL is refused everywhere: SQLite and the
 * database protocol treat it as a string terminator.
 */
const controlCharacters = {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is this regex's job
  line: /[\u0000-\u001f\u007f]/,
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is this regex's job
  text: /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/,
} as const;
export type ControlCharacterPolicy = keyof typeof controlCharacters;

/** `U+0000` for a character, as messages name it. */
function codePoint(char: string): string {
  return `U+${char.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")}`;
}

/** The message for a string holding a control character, or null when it holds none. */
export function controlCharacterMessage(value: string, policy: ControlCharacterPolicy, name: string): string | null {
  const match = controlCharacters[policy].exec(value);
  if (match === null) return null;
  return `${name} must not contain control characters (${codePoint(match[0])} at position ${match.index + 1})`;
}

/**
 * JSON.parse makes `__proto__` an own key, which a schema's record or object may drop without a
 * word (assigning it sets a prototype instead): no field of this API has that name, so it is
 * refused wherever it appears.
 */
/** No input of this API nests deeper than a few levels; 32 leaves room and bounds the work. */
export const maxDepth = 32;

const prototypeKeyMessage = 'unknown field "__proto__"';

/**
 * Every string (value or key) of a parsed input that holds a control character, and every
 * `__proto__` key, at its path, and input nested deeper than `maxDepth`: the one check every
 * query, path and JSON body goes through before its schema, so no route can forget it.
 */
export function controlCharacterErrors(input: unknown, policy: ControlCharacterPolicy): ControlCharacterError[] {
  const errors: ControlCharacterError[] = [];
  // Iterative, not recursive: a body of 10,000 nested arrays must be a 400, not a stack overflow.
  const stack: { value: unknown; path: PropertyKey[] }[] = [{ value: input, path: [] }];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const { value, path } = next;
    if (path.length > maxDepth) {
      const message = `the input nests deeper than ${maxDepth} levels`;
      errors.push({ path: formatPath(path.slice(0, maxDepth)), message });
      break;
    }
    if (typeof value === "string") {
      const message = controlCharacterMessage(value, policy, formatPath(path) || "the value");
      if (message !== null) errors.push({ path: formatPath(path), message });
    } else if (Array.isArray(value)) {
      for (let index = value.length - 1; index >= 0; index--) {
        stack.push({ value: value[index], path: [...path, index] });
      }
    } else if (value !== null && typeof value === "object") {
      for (const [key, item] of Object.entries(value).reverse()) {
        const message =
          key === "__proto__" ? prototypeKeyMessage : controlCharacterMessage(key, policy, "a field name");
        if (message !== null) errors.push({ path: formatPath([...path, key]), message });
        else stack.push({ value: item, path: [...path, key] });
      }
    }
  }
  return errors;
}
