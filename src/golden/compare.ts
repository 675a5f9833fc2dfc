/**
 * Elementwise comparison against golden arrays: |got - want| <= atol + rtol * |want| (the rule of
 * shared/golden/README.md, NumPy's `allclose` with the tolerance on `want`).
 */

export interface Tolerance {
  rtol: number;
  atol: number;
}

/** Shapes to check besides the flat lengths (optional). */
export interface Shapes {
  got: readonly number[];
  want: readonly number[];
}

export interface CompareResult {
  ok: boolean;
  /** Index of the element furthest outside (or least inside) the tolerance; -1 if none compared. */
  worstIndex: number;
  /** got[worstIndex] and want[worstIndex] (NaN when no element was compared). */
  got: number;
  want: number;
  /** |got - want| - (atol + rtol |want|) at worstIndex: > 0 means outside the tolerance. */
  excess: number;
  /** Set when lengths or shapes differ; no element is compared then. */
  shapeMismatch?: string;
}

/** How far one element is outside the tolerance (Infinity for NaN against a number, and vice versa). */
function elementExcess(got: number, want: number, tol: Tolerance): number {
  if (got === want || (Number.isNaN(got) && Number.isNaN(want))) {
    return Number.isFinite(want) ? -(tol.atol + tol.rtol * Math.abs(want)) : -Infinity;
  }
  const diff = Math.abs(got - want);
  if (Number.isNaN(diff)) return Infinity;
  return diff - (tol.atol + tol.rtol * Math.abs(want));
}

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}

/** Compare two flat arrays elementwise (and their shapes, if given). */
export function compareArrays(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  tol: Tolerance,
  shapes?: Shapes,
): CompareResult {
  const none = { ok: false, worstIndex: -1, got: Number.NaN, want: Number.NaN, excess: Infinity };
  if (shapes && shapeText(shapes.got) !== shapeText(shapes.want)) {
    return { ...none, shapeMismatch: `shape ${shapeText(shapes.got)} vs expected ${shapeText(shapes.want)}` };
  }
  if (got.length !== want.length) {
    return { ...none, shapeMismatch: `length ${got.length} vs expected ${want.length}` };
  }
  let worstIndex = -1;
  let excess = -Infinity;
  for (let i = 0; i < want.length; i++) {
    const e = elementExcess(got[i], want[i], tol);
    if (e > excess || worstIndex < 0) {
      excess = e;
      worstIndex = i;
    }
  }
  if (worstIndex < 0) return { ok: true, worstIndex, got: Number.NaN, want: Number.NaN, excess: 0 };
  return { ok: excess <= 0, worstIndex, got: got[worstIndex], want: want[worstIndex], excess };
}

/** One-line description of a failed comparison of the array `name`. */
export function describeMismatch(name: string, result: CompareResult, tol: Tolerance): string {
  if (result.shapeMismatch) return `${name}: ${result.shapeMismatch}`;
  const { worstIndex: i, got, want, excess } = result;
  const diff = Math.abs(got - want);
  return (
    `${name}[${i}]: got ${got} want ${want} (|diff| ${diff.toExponential(3)} exceeds ` +
    `atol ${tol.atol} + rtol ${tol.rtol} * |want| by ${excess.toExponential(3)})`
  );
}

/** A named pair of arrays to check. */
export interface ArrayCheck {
  name: string;
  got: ArrayLike<number>;
  want: ArrayLike<number>;
  shapes?: Shapes;
}

/**
 * Compare several named arrays; the detail names every array out of tolerance with its worst
 * element, got vs want.
 */
export function checkArrays(checks: readonly ArrayCheck[], tol: Tolerance): { ok: boolean; detail?: string } {
  const failures = checks.flatMap((c) => {
    const result = compareArrays(c.got, c.want, tol, c.shapes);
    return result.ok ? [] : [describeMismatch(c.name, result, tol)];
  });
  return failures.length === 0 ? { ok: true } : { ok: false, detail: failures.join("; ") };
}

/** Read a `{ rtol, atol }` tolerance from a case, or throw naming the field. */
export function parseTolerance(value: unknown, field = "tolerance"): Tolerance {
  const t = value as Partial<Tolerance> | null | undefined;
  const valid = (x: unknown) => typeof x === "number" && Number.isFinite(x) && x >= 0;
  if (typeof t !== "object" || t === null || !valid(t.rtol) || !valid(t.atol)) {
    throw new Error(`${field} ${JSON.stringify(value)} is not an object { rtol, atol } of numbers >= 0`);
  }
  return { rtol: t.rtol as number, atol: t.atol as number };
}

/** Read a flat array of numbers from a case, or throw naming the field. */
export function parseNumberArray(value: unknown, field: string): number[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === "number")) {
    const shown = Array.isArray(value) ? `[array of ${value.length}]` : JSON.stringify(value);
    throw new Error(`${field} ${shown} is not a flat array of numbers`);
  }
  return value;
}
