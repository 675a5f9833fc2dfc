/**
 * Finding golden cases in a directory laid out as shared/golden/README.md describes:
 * - each `*.json` file with a `cases` array gives one case per element, id `FILE#INDEX`, with the
 *   element's fields merged over the file's other top-level fields (`kind`, `tolerance`, ...);
 * - a `*.json` file without `cases` is one case, id the file name;
 * - a folder with an `io.json` is one case (a model folder), id the folder name, kind io.json's `kind`;
 * - other folders are searched the same way, their cases' ids prefixed with the folder's path.
 * Entries are visited in name order, so the list is the same on every machine.
 */
import { readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import { parsePythonJson } from "./json.js";

export interface GoldenCase {
  /** `schedules.json#3`, `loss_weights.json`, `unet_small`, or `sub/schedules.json#0` in a subfolder. */
  id: string;
  /** The case's kind, "" when the file names none. */
  kind: string;
  /** The case's fields (merged over the file's shared fields). */
  data: Record<string, unknown>;
  /** The directory holding the case's files. */
  dir: string;
  /** The JSON file the case came from. */
  file: string;
  /** Set when the file could not be read as a case: the runner reports the case as FAIL with it. */
  error?: string;
}

const IO_FILE = "io.json";

async function readJson(file: string): Promise<unknown> {
  const text = await readFile(file, "utf8");
  try {
    return parsePythonJson(text);
  } catch (e) {
    throw new Error(`${file} is not valid JSON: ${(e as Error).message}`);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function kindOf(data: Record<string, unknown>): string {
  return typeof data.kind === "string" ? data.kind : "";
}

/** A case standing for a file that could not be read. */
function broken(id: string, dir: string, file: string, error: unknown): GoldenCase {
  return { id, kind: "", data: {}, dir, file, error: (error as Error).message ?? String(error) };
}

/** The cases of one JSON file (one broken case if it cannot be read). */
async function casesOfFile(file: string, id: string): Promise<GoldenCase[]> {
  const dir = path.dirname(file);
  try {
    return await parseCases(file, id, dir);
  } catch (e) {
    return [broken(id, dir, file, e)];
  }
}

async function parseCases(file: string, id: string, dir: string): Promise<GoldenCase[]> {
  const json = await readJson(file);
  if (!isObject(json)) throw new Error(`${file} is not a JSON object`);
  const { cases, ...shared } = json;
  if (cases === undefined) return [{ id, kind: kindOf(json), data: json, dir, file }];
  if (!Array.isArray(cases)) throw new Error(`${file}: cases is not an array`);
  return cases.map((entry, index) => {
    if (!isObject(entry)) throw new Error(`${file}: cases[${index}] is not an object`);
    const data = { ...shared, ...entry };
    return { id: `${id}#${index}`, kind: kindOf(data), data, dir, file };
  });
}

/** A model folder's case, from its io.json. */
async function folderCase(dir: string, io: string, id: string): Promise<GoldenCase> {
  try {
    const data = await readJson(io);
    if (!isObject(data)) throw new Error(`${io} is not a JSON object`);
    return { id, kind: kindOf(data), data, dir, file: io };
  } catch (e) {
    return broken(id, dir, io, e);
  }
}

async function walk(dir: string, prefix: string): Promise<GoldenCase[]> {
  const names = (await readdir(dir)).sort();
  const found: GoldenCase[] = [];
  for (const name of names) {
    const full = path.join(dir, name);
    const id = prefix + name;
    const info = await stat(full);
    if (info.isDirectory()) {
      const io = path.join(full, IO_FILE);
      const hasIo = await stat(io).then(
        (s) => s.isFile(),
        () => false,
      );
      if (hasIo) {
        found.push(await folderCase(full, io, id));
      } else {
        found.push(...(await walk(full, `${id}/`)));
      }
    } else if (info.isFile() && name.endsWith(".json")) {
      found.push(...(await casesOfFile(full, id)));
    }
  }
  return found;
}

/** All golden cases under `root`, in a stable order. Throws if `root` is not a directory. */
export async function discoverCases(root: string): Promise<GoldenCase[]> {
  const info = await stat(root).catch(() => undefined);
  if (!info?.isDirectory())
    throw new Error(`golden directory ${JSON.stringify(root)} does not exist or is not a directory`);
  return walk(root, "");
}
