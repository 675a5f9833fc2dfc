/**
 * Creating directories (Node only) without `mkdir(dir, { recursive: true })`, which on Node 20 never
 * returns (and spins at full CPU) under a path where mkdir fails with ENOENT even though the parent
 * exists: procfs and sysfs (`/proc/x/y`) answer ENOENT for every new entry, and Node's recursive
 * mkdir then creates the parent ("exists"), retries the child (ENOENT) and loops for ever.
 *
 * `makeDir` walks up to the first existing ancestor, then creates each missing level once, and fails
 * with a `DirectoryError` naming the directory, the level that could not be created and the reason.
 */
import { mkdir, stat } from "node:fs/promises";
import path from "node:path";

export class DirectoryError extends Error {
  override name = "DirectoryError";
}

function code(e: unknown): string | undefined {
  return (e as { code?: string }).code;
}

async function isDirectory(p: string): Promise<boolean | null> {
  try {
    return (await stat(p)).isDirectory();
  } catch (e) {
    if (code(e) === "ENOENT" || code(e) === "ENOTDIR") return null;
    throw e;
  }
}

/**
 * Creates `dir` and its missing parents (like `mkdir -p`); `what` names it in errors (e.g. "--out").
 * Terminates on every file system: each missing level is attempted exactly once.
 */
export async function makeDir(dir: string, what = "directory"): Promise<void> {
  const target = path.resolve(dir);
  const missing: string[] = [];
  let p = target;
  for (;;) {
    const kind = await isDirectory(p).catch((e: Error) => {
      throw new DirectoryError(`${what} ${dir}: cannot inspect ${p} (${e.message})`);
    });
    if (kind === true) break;
    if (kind === false) {
      throw new DirectoryError(`${what} ${dir}: ${p} exists and is not a directory`);
    }
    missing.push(p);
    const parent = path.dirname(p);
    if (parent === p) break; // the root itself is missing: let mkdir report it
    p = parent;
  }
  for (const level of missing.reverse()) {
    try {
      await mkdir(level);
    } catch (e) {
      if (code(e) === "EEXIST" && (await isDirectory(level))) continue; // created meanwhile
      throw new DirectoryError(
        `${what} ${dir}: cannot create ${level} (${code(e) ?? (e as Error).message}); choose a writable location`,
      );
    }
  }
}
