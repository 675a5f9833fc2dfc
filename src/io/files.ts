/**
 * File helpers for Node: safetensors files, crash-safe (atomic) writes, JSON files with clear errors.
 * Node-only.
 */
import { randomBytes } from "node:crypto";
import { open, readFile, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { InputFileError, inFile } from "./input-error.js";
import {
  type ParsedSafetensors,
  parseSafetensors,
  type StTensors,
  serializeSafetensors,
} from "./safetensors.js";

function errorCode(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

/** Reads `path` whole; a missing or unreadable file becomes an error naming `what` and the path. */
async function readBytes(path: string, what: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (e) {
    if (errorCode(e) === "ENOENT") {
      throw new InputFileError(path, `${what} ${path} does not exist`, { named: true });
    }
    throw new InputFileError(path, `cannot read ${what} ${path}: ${(e as Error).message}`, {
      named: true,
      cause: e,
    });
  }
}

/** Reads and validates a safetensors file; errors name the file. */
export async function readSafetensorsFile(path: string): Promise<ParsedSafetensors> {
  const bytes = await readBytes(path, "safetensors file");
  return inFile(path, () => parseSafetensors(bytes));
}

/** Writes tensors (and optional `__metadata__`) as a safetensors file, atomically. */
export async function writeSafetensorsFile(
  path: string,
  tensors: StTensors,
  metadata?: Record<string, string>,
): Promise<void> {
  await writeFileAtomic(path, serializeSafetensors(tensors, metadata));
}

/**
 * Replaces `path` with `contents` so that a crash leaves either the old file or the new one, never a
 * torn file: write a temporary file in the same directory, fsync it, rename it over `path`, fsync the
 * directory (so the rename itself is durable). The temporary file is removed if anything fails.
 */
export async function writeFileAtomic(path: string, contents: Uint8Array | string): Promise<void> {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    const handle = await open(temp, "wx");
    try {
      await handle.writeFile(contents);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (e) {
    await rm(temp, { force: true });
    throw new Error(`cannot write ${path}: ${(e as Error).message}`, { cause: e });
  }
  await syncDirectory(dir);
}

/** fsync a directory; platforms that cannot (Windows: EISDIR/EPERM) skip it. */
export async function syncDirectory(dir: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(dir, "r");
    await handle.sync();
  } catch (e) {
    const code = errorCode(e);
    if (code !== "EISDIR" && code !== "EPERM" && code !== "EINVAL") throw e;
  } finally {
    await handle?.close();
  }
}

/**
 * Reads and parses a JSON file. `what` describes it for error messages (e.g. "model config"):
 * `model config /m/config.json does not exist`, `... is not valid JSON (Unexpected token ...)`.
 */
export async function readJsonFile(path: string, what: string): Promise<unknown> {
  const bytes = await readBytes(path, what);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new InputFileError(path, `${what} ${path} is not valid UTF-8 text`, { named: true });
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new InputFileError(path, `${what} ${path} is not valid JSON (${(e as Error).message})`, {
      named: true,
    });
  }
}
