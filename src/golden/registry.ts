/**
 * The golden-case registry: one handler per case `kind` (the `kind` field of a golden JSON file or
 * of a model folder's io.json). Handler modules call `registerKind` when imported; the list of
 * modules is src/golden/kinds/index.ts.
 */

/** Which execution path a handler should exercise. */
export type GoldenMode = "eager" | "compiled";

export interface CaseContext {
  /** The directory holding the case's files: the model folder for a folder case, else the JSON file's directory. */
  dir: string;
  /** The JSON file the case came from (a folder case's io.json). */
  file: string;
  mode: GoldenMode;
}

export interface CaseResult {
  ok: boolean;
  /** On failure: which array, its worst element, got vs want. */
  detail?: string;
}

/**
 * Checks one case. `caseData` is the case's fields merged over its file's shared fields (for
 * example `tolerance`), or the whole object for a file without `cases` and for io.json.
 */
export type CaseHandler = (caseData: Record<string, unknown>, ctx: CaseContext) => Promise<CaseResult>;

const handlers = new Map<string, CaseHandler>();

/** Register the handler of a kind. Registering a different handler for a kind already taken throws. */
export function registerKind(kind: string, handler: CaseHandler): void {
  if (typeof kind !== "string" || kind === "")
    throw new Error(`kind ${JSON.stringify(kind)} is not a non-empty string`);
  const existing = handlers.get(kind);
  if (existing && existing !== handler)
    throw new Error(`kind "${kind}" is already registered by another handler`);
  handlers.set(kind, handler);
}

/** The handler of a kind, or undefined when no module registered it. */
export function handlerFor(kind: string): CaseHandler | undefined {
  return handlers.get(kind);
}

/** The registered kinds, sorted. */
export function registeredKinds(): string[] {
  return [...handlers.keys()].sort();
}
