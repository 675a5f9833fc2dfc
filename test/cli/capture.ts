/**
 * Captures what a CLI test's commands write: `const { out, err } = captureStdio()` at the top of a
 * test file spies on process.stdout/stderr.write before each test and restores them after it. The
 * arrays are the same objects throughout, emptied before each test. `{ warn: true }` also sends
 * console.warn (the library's default warning sink) into `err`.
 */
import { afterEach, beforeEach, vi } from "vitest";

export function captureStdio(options: { warn?: boolean } = {}): { out: string[]; err: string[] } {
  const io = { out: [] as string[], err: [] as string[] };
  const into = (lines: string[]) => (s: unknown) => {
    lines.push(String(s));
    return true;
  };
  beforeEach(() => {
    io.out.length = 0;
    io.err.length = 0;
    vi.spyOn(process.stdout, "write").mockImplementation(into(io.out));
    vi.spyOn(process.stderr, "write").mockImplementation(into(io.err));
    if (options.warn)
      vi.spyOn(console, "warn").mockImplementation((m: unknown) => void io.err.push(String(m)));
  });
  afterEach(() => vi.restoreAllMocks());
  return io;
}
