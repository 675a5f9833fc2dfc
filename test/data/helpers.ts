import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import type { Dataset } from "../../src/data/types.js";

/** Checks the invariants every dataset shares: sizes agree, values finite, labels in [0, numClasses). */
export function expectValidDataset(ds: Dataset, n: number): void {
  const values = ds.kind === "image" ? ds.images : ds.data;
  const per = ds.kind === "image" ? ds.shape[0] * ds.shape[1] * ds.shape[2] : ds.dim;
  expect(values.length).toBe(n * per);
  expect(values.every((v) => Number.isFinite(v))).toBe(true);
  if (ds.kind === "image") expect(values.every((v) => v >= -1 && v <= 1)).toBe(true);
  if (ds.labels) {
    expect(ds.labels.length).toBe(n);
    expect(ds.labels.every((y) => y >= 0 && y < ds.numClasses!)).toBe(true);
    if (ds.classNames) expect(ds.classNames.length).toBe(ds.numClasses);
  }
}

const made: string[] = [];

/** A fresh folder under the OS temp dir, removed after the file's tests (call `removeTempDirs` in afterAll). */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `diffuse-${prefix}`));
  made.push(dir);
  return dir;
}

/** Removes every folder `tempDir` made. */
export function removeTempDirs(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}
