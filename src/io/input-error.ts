/**
 * The project's named error for bad input: anything wrong in what a user hands us (a file's bytes, a
 * config object, a JSON field) is an `InputError` or a subclass (`SafetensorsError`, `PngError`,
 * `JpegError`, `CsvError`, `IdxError`, `ConfigError`, `CheckpointError`, `ResourceError`), never a bare
 * `RangeError`/`TypeError`. Callers (the CLI, the fuzz tests) recognise it with `instanceof InputError`.
 *
 * An error knows the file it came from once a file-level reader attaches it (`inFile`), and for a
 * folder or container the entry inside it (an image of a folder dataset, a tensor of a checkpoint):
 *
 *   `/data/cats/3.png: png: chunk "IDAT" at byte 33 has a bad CRC (corrupt file)`
 *   `/data/table.csv line 3, column 2 ("b"): expected a number, got "oops"`
 *
 * Browser-safe (no Node API).
 */

export interface InputErrorWhere {
  /** The file (path or name) the bad input came from. */
  file?: string;
  /** Where inside `file`, as a phrase: `line 3`, `tensor "conv.weight"`, `image cats/1.png`. */
  entry?: string;
  /** The field (JSON key, flag, column) holding the bad value. */
  field?: string;
  cause?: unknown;
  /** The message already names the file (`model config /m/config.json does not exist`): no prefix. */
  named?: boolean;
}

function prefix(where: InputErrorWhere): string {
  if (where.file === undefined || where.named) return "";
  return where.entry === undefined ? `${where.file}: ` : `${where.file} ${where.entry}: `;
}

/** Bad input content: a malformed file, an invalid config value, a resource request beyond a limit. */
export class InputError extends Error {
  override name = "InputError";
  readonly file?: string;
  readonly entry?: string;
  readonly field?: string;
  /** The message without the file prefix (what the parser said). */
  readonly detail: string;

  constructor(message: string, where: InputErrorWhere = {}) {
    super(`${prefix(where)}${message}`, where.cause === undefined ? undefined : { cause: where.cause });
    this.detail = message;
    if (where.file !== undefined) this.file = where.file;
    if (where.entry !== undefined) this.entry = where.entry;
    if (where.field !== undefined) this.field = where.field;
  }
}

/** A bad input file: `file` is always set. */
export class InputFileError extends InputError {
  override name = "InputFileError";
  declare readonly file: string;

  constructor(file: string, message: string, where: Omit<InputErrorWhere, "file"> = {}) {
    super(message, { ...where, file });
  }
}

type InputErrorClass = new (message: string, where?: InputErrorWhere) => InputError;

/**
 * `e` with `file` (and `entry`) attached: an `InputError` that has no file yet is re-created as the same
 * class naming the file (so `instanceof PngError` still holds); one that already names a file is kept.
 * Anything else is returned unchanged (a bug, not bad input: the fuzz tests must see it).
 */
export function attachFile(e: unknown, file: string, entry?: string): unknown {
  if (!(e instanceof InputError) || e.file !== undefined) return e;
  const Class = e.constructor as InputErrorClass;
  const where: InputErrorWhere = { file, cause: e };
  if (entry !== undefined) where.entry = entry;
  if (e.field !== undefined) where.field = e.field;
  return new Class(e.detail, where);
}

/** Runs `read` (a parser of `file`'s contents); its InputErrors name `file` (and `entry`). */
export function inFile<T>(file: string, read: () => T, entry?: string): T {
  try {
    return read();
  } catch (e) {
    throw attachFile(e, file, entry);
  }
}

/** `inFile` for async readers. */
export async function inFileAsync<T>(file: string, read: () => Promise<T>, entry?: string): Promise<T> {
  try {
    return await read();
  } catch (e) {
    throw attachFile(e, file, entry);
  }
}

/** Whether `e` is the project's named error for bad input (what every parser may throw). */
export function isInputError(e: unknown): e is InputError {
  return e instanceof InputError;
}
