/**
 * The golden runner: checks every case under a directory with the handler registered for its kind
 * and reports one line per case, as shared/golden/README.md asks:
 *
 *     PASS <id>
 *     FAIL <id> <reason>
 *     SKIP <id> (kind X not implemented)
 *     N passed, M failed
 *     K skipped (kinds not implemented: X, Y)      <- only when K > 0
 *
 * Handlers are not imported here: import src/golden/kinds/index.js (or single kind modules) first.
 */
import { discoverCases, type GoldenCase } from "./discover.js";
import { type CaseResult, type GoldenMode, handlerFor } from "./registry.js";

export type CaseStatus = "pass" | "fail" | "skip";

export interface CaseOutcome {
  id: string;
  kind: string;
  status: CaseStatus;
  /** The failure reason, or the skip note. */
  detail?: string;
}

export interface RunSummary {
  passed: number;
  failed: number;
  skipped: number;
  outcomes: CaseOutcome[];
  /** Kinds found in the directory that no handler is registered for, sorted. */
  unimplementedKinds: string[];
}

export interface RunOptions {
  /** Passed to handlers; default "eager". */
  mode?: GoldenMode;
  /** Only run cases of these kinds (others are neither run nor reported). */
  kinds?: readonly string[];
  /** Where report lines go; default console.log. */
  log?: (line: string) => void;
}

function kindLabel(kind: string): string {
  return kind === "" ? "(none)" : kind;
}

/** Run one case; a throwing handler is a failure with its message. */
async function runCase(c: GoldenCase, mode: GoldenMode): Promise<CaseOutcome> {
  const base = { id: c.id, kind: c.kind };
  if (c.error !== undefined) return { ...base, status: "fail", detail: c.error };
  const handler = handlerFor(c.kind);
  if (!handler) return { ...base, status: "skip", detail: `(kind ${kindLabel(c.kind)} not implemented)` };
  let result: CaseResult;
  try {
    result = await handler(c.data, { dir: c.dir, file: c.file, mode });
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    return { ...base, status: "fail", detail: `threw: ${message}` };
  }
  if (result?.ok === true) return { ...base, status: "pass" };
  return { ...base, status: "fail", detail: result?.detail || "(handler gave no detail)" };
}

function reportLine(o: CaseOutcome): string {
  if (o.status === "pass") return `PASS ${o.id}`;
  return `${o.status === "fail" ? "FAIL" : "SKIP"} ${o.id} ${o.detail}`;
}

/** Run every golden case under `dir` and print the report; returns the counts and outcomes. */
export async function runGolden(dir: string, options: RunOptions = {}): Promise<RunSummary> {
  const mode = options.mode ?? "eager";
  const log = options.log ?? ((line: string) => console.log(line));
  const all = await discoverCases(dir);
  const cases = options.kinds ? all.filter((c) => options.kinds?.includes(c.kind)) : all;
  const outcomes: CaseOutcome[] = [];
  for (const c of cases) {
    const outcome = await runCase(c, mode);
    log(reportLine(outcome));
    outcomes.push(outcome);
  }
  const count = (s: CaseStatus) => outcomes.filter((o) => o.status === s).length;
  const summary: RunSummary = {
    passed: count("pass"),
    failed: count("fail"),
    skipped: count("skip"),
    outcomes,
    unimplementedKinds: [
      ...new Set(outcomes.filter((o) => o.status === "skip").map((o) => kindLabel(o.kind))),
    ].sort(),
  };
  log(`${summary.passed} passed, ${summary.failed} failed`);
  if (summary.skipped > 0) {
    log(`${summary.skipped} skipped (kinds not implemented: ${summary.unimplementedKinds.join(", ")})`);
  }
  return summary;
}
