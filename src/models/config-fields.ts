/**
 * Validation of diffusers config.json objects at the boundary: each field is checked against a small
 * schema (type, range, allowed values) and filled with diffusers' default when absent. Errors name the
 * model, the field, the value and what was expected:
 *   `UNet2DModel config: field "down_block_types[1]" is "Foo"; expected one of DownBlock2D, AttnDownBlock2D`
 */
import { InputError } from "../io/input-error.js";

import { didYouMean } from "../util/names.js";
import { type WarnFn, warn } from "../util/warn.js";

export class ConfigError extends InputError {
  override name = "ConfigError";
}

/** Checks one value; returns an error description ("expected ...") or null when valid. */
export type Check<V> = { readonly expected: string; readonly test: (v: unknown, field: string) => V };

const show = (v: unknown): string => (v === undefined ? "undefined" : JSON.stringify(v));

/** A failed check of `field` (thrown inside `test`, completed with the model name by `readField`). */
class FieldError extends Error {
  constructor(
    readonly field: string,
    readonly value: unknown,
    readonly expected: string,
  ) {
    super(`field "${field}" is ${show(value)}; expected ${expected}`);
  }
}

function check<V>(expected: string, ok: (v: unknown) => boolean): Check<V> {
  return {
    expected,
    test: (v, field) => {
      if (!ok(v)) throw new FieldError(field, v, expected);
      return v as V;
    },
  };
}

export const int = (min = Number.NEGATIVE_INFINITY): Check<number> =>
  check(
    min === 1 ? "a positive integer" : min === 0 ? "a non-negative integer" : "an integer",
    (v) => typeof v === "number" && Number.isInteger(v) && v >= min,
  );

export const num = (positive = false): Check<number> =>
  check(
    positive ? "a positive number" : "a finite number",
    (v) => typeof v === "number" && Number.isFinite(v) && (!positive || v > 0),
  );

export const bool: Check<boolean> = check("true or false", (v) => typeof v === "boolean");

export function oneOf<const S extends string>(values: readonly S[]): Check<S> {
  return check(`one of ${values.join(", ")}`, (v) => typeof v === "string" && values.includes(v as S));
}

export function nullable<V>(inner: Check<V>): Check<V | null> {
  return {
    expected: `${inner.expected} or null`,
    test: (v, field) => (v === null ? null : inner.test(v, field)),
  };
}

/** A non-empty array whose elements pass `inner` (element errors name `field[i]`). */
export function arrayOf<V>(inner: Check<V>): Check<V[]> {
  return {
    expected: `a non-empty array of ${inner.expected}`,
    test: (v, field) => {
      if (!Array.isArray(v) || v.length === 0)
        throw new FieldError(field, v, `a non-empty array of ${inner.expected}`);
      return v.map((e, i) => inner.test(e, `${field}[${i}]`));
    },
  };
}

/** Either check (e.g. an int or a pair of ints). */
export function either<A, B>(a: Check<A>, b: Check<B>): Check<A | B> {
  return {
    expected: `${a.expected} or ${b.expected}`,
    test: (v, field) => {
      try {
        return a.test(v, field);
      } catch {
        try {
          return b.test(v, field);
        } catch {
          throw new FieldError(field, v, `${a.expected} or ${b.expected}`);
        }
      }
    },
  };
}

/** Marks a field without default: absent is an error. */
export const REQUIRED: unique symbol = Symbol("required");

export type Schema<C> = { [K in keyof C]: { check: Check<C[K]>; default: C[K] | typeof REQUIRED } };

/**
 * What to do with a key the schema does not know: "warn" (a saved config.json: it loads, and the
 * warning names the key, e.g. a misspelled `hiden_size`), "error" (anything the user typed: the CLI's
 * `--model` JSON), "ignore" (configs with fields of diffusers that have no effect here).
 */
export type UnknownKeys = "warn" | "error" | "ignore";

export interface ParseOptions {
  unknown?: UnknownKeys;
  /** Keys that are not in the schema but are expected and ignored silently. */
  accepted?: readonly string[];
  warn?: WarnFn;
}

/** The keys of `obj` that are neither in `known`, nor `accepted`, nor `_private`. */
export function unknownKeys(
  obj: object,
  known: readonly string[],
  accepted: readonly string[] = [],
): string[] {
  return Object.keys(obj).filter((k) => !k.startsWith("_") && !known.includes(k) && !accepted.includes(k));
}

/** Warns about or rejects the unknown keys of `obj` (see UnknownKeys), each with a did-you-mean. */
export function reportUnknownKeys(
  model: string,
  obj: object,
  known: readonly string[],
  options: ParseOptions = {},
): void {
  const mode = options.unknown ?? "warn";
  if (mode === "ignore") return;
  const bad = unknownKeys(obj, known, options.accepted);
  if (bad.length === 0) return;
  const what = bad
    .map((k) => {
      const hint = didYouMean(k, known).replace(/^; /, "");
      return `${JSON.stringify(k)}${hint ? ` (${hint})` : ""}`;
    })
    .join(", ");
  if (mode === "error") {
    throw new ConfigError(`${model} config: unknown field ${what}; expected fields: ${known.join(", ")}`);
  }
  warn(`${model} config: unknown field ${what} ignored`, options.warn);
}

/** The config object is a plain JSON object; fields are validated and defaulted by `schema`. */
export function parseConfig<C>(
  model: string,
  raw: unknown,
  schema: Schema<C>,
  options: ParseOptions = {},
): C {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new ConfigError(`${model} config: expected a JSON object, got ${show(raw)}`);
  }
  const obj = raw as Record<string, unknown>;
  reportUnknownKeys(model, obj, Object.keys(schema), options);
  const out = {} as C;
  for (const key of Object.keys(schema) as (keyof C & string)[]) {
    const { check: c, default: def } = schema[key];
    const present = Object.hasOwn(obj, key) && obj[key] !== undefined;
    if (!present) {
      if (def === REQUIRED)
        throw new ConfigError(`${model} config: missing required field "${key}" (${c.expected})`);
      out[key] = structuredClone(def) as C[typeof key];
      continue;
    }
    try {
      out[key] = c.test(obj[key], key);
    } catch (e) {
      if (e instanceof FieldError) throw new ConfigError(`${model} config: ${e.message}`);
      throw e;
    }
  }
  return out;
}

/** Throws a ConfigError naming `field` unless `ok`. */
export function expectField(
  model: string,
  ok: boolean,
  field: string,
  value: unknown,
  expected: string,
): void {
  if (!ok) throw new ConfigError(`${model} config: field "${field}" is ${show(value)}; expected ${expected}`);
}
