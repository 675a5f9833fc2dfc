/**
 * Reading JSON written by Python's `json` module, which emits the non-standard tokens `NaN`,
 * `Infinity` and `-Infinity` for non-finite floats (the golden files hold a few: a diverging
 * sampler's trajectory, `lambda_min_clipped: -Infinity` in a scheduler config).
 */

const TOKENS: Record<string, number> = { NaN: Number.NaN, Infinity: Infinity, "-Infinity": -Infinity };
/** Placeholder strings that stand for the tokens while JSON.parse runs. */
const MARK = "\u0000py:";

/** Replace NaN / Infinity / -Infinity outside strings by marked strings. */
function markTokens(text: string): string {
  const pattern = /"(?:[^"\\]|\\.)*"|-?Infinity|NaN/g;
  return text.replace(pattern, (match) => (match.startsWith('"') ? match : JSON.stringify(MARK + match)));
}

/** `JSON.parse` that also accepts Python's `NaN`, `Infinity` and `-Infinity`. */
export function parsePythonJson(text: string): unknown {
  if (!/NaN|Infinity/.test(text)) return JSON.parse(text);
  return JSON.parse(markTokens(text), (_key, value) =>
    typeof value === "string" && value.startsWith(MARK) ? TOKENS[value.slice(MARK.length)] : value,
  );
}
