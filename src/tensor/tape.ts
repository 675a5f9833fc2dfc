/**
 * The autodiff tape stack. While `valueAndGrad` runs its function, every primitive application whose
 * operands are tracked by an active tape is recorded on it; the backward pass replays the records in
 * reverse through the vector-Jacobian rules. Recording is orthogonal to evaluation: the same records are
 * made whether the operands are concrete (eager) or symbolic (being traced by `compile`).
 */
import type { Primitive } from "./primitives.js";
import type { Tensor } from "./tensor.js";

export interface TapeRecord {
  readonly prim: Primitive;
  readonly inputs: readonly Tensor[];
  readonly params: unknown;
  readonly output: Tensor;
}

export class Tape {
  readonly tracked = new Set<Tensor>();
  readonly records: TapeRecord[] = [];
}

const active: Tape[] = [];

export function pushTape(tape: Tape): void {
  active.push(tape);
}

export function popTape(tape: Tape): void {
  if (active.pop() !== tape) throw new Error("autodiff tapes were popped out of order");
}

/** Records an application on every active tape that tracks one of its operands. */
export function record(rec: TapeRecord): void {
  for (const tape of active) {
    if (rec.inputs.some((t) => tape.tracked.has(t))) {
      tape.records.push(rec);
      tape.tracked.add(rec.output);
    }
  }
}

/** Runs `f` with recording paused (the body of `stopGradient`-like helpers and optimizer updates). */
export function withoutTapes<T>(f: () => T): T {
  const saved = active.splice(0, active.length);
  try {
    return f();
  } finally {
    active.push(...saved);
  }
}
