/**
 * Flag tables on top of node:util `parseArgs`: each flag has a kind (checked and converted here, so a
 * bad value fails as a UsageError naming the flag) and a help line; `--help` text is generated.
 */
import { parseArgs } from "node:util";
import { didYouMean } from "../util/names.js";

/** A mistake in the command line: printed without a stack trace, exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

export type FlagKind = "string" | "int" | "posint" | "number" | "boolean" | "json" | "list";

export interface Flag {
  /** Flag name without dashes, kebab-case ("batch-size"). */
  name: string;
  kind: FlagKind;
  help: string;
  /** Shown in the help as the value placeholder. */
  value?: string;
  /** Allowed values (strings). */
  choices?: readonly string[];
}

export interface Command {
  name: string;
  summary: string;
  usage: string;
  flags: readonly Flag[];
  /** Extra help text after the flag list. */
  epilog?: string;
}

export type FlagValue = string | number | boolean | Record<string, unknown> | string[];

/** "batch-size" -> "batchSize". */
export function camel(name: string): string {
  return name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

function convert(flag: Flag, raw: string): FlagValue {
  const bad = (expected: string): never => {
    throw new UsageError(`--${flag.name}: expected ${expected}, got ${JSON.stringify(raw)}`);
  };
  switch (flag.kind) {
    case "int":
    case "posint": {
      if (!/^[+-]?\d+$/.test(raw.trim()))
        bad(flag.kind === "int" ? "a non-negative integer" : "a positive integer");
      const v = Number(raw);
      if (!Number.isSafeInteger(v) || v < (flag.kind === "int" ? 0 : 1)) {
        bad(flag.kind === "int" ? "a non-negative integer" : "a positive integer");
      }
      return v;
    }
    case "number": {
      const v = Number(raw);
      if (raw.trim() === "" || !Number.isFinite(v)) bad("a number");
      return v;
    }
    case "json": {
      try {
        const v = JSON.parse(raw) as unknown;
        if (typeof v !== "object" || v === null || Array.isArray(v)) bad("a JSON object");
        return v as Record<string, unknown>;
      } catch (e) {
        if (e instanceof UsageError) throw e;
        return bad("a JSON object");
      }
    }
    case "list":
      return raw
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s.length > 0);
    default:
      if (flag.choices && !flag.choices.includes(raw)) bad(`one of ${flag.choices.join(", ")}`);
      return raw;
  }
}

/**
 * Parses `argv` (the arguments after the command name) against `command`'s flags. Returns the values
 * by camelCase name (absent flags are absent) and whether --help was given.
 */
/**
 * `--steps -5` as `--steps=-5`: parseArgs reads a value starting with "-" as another flag ("argument is
 * ambiguous"); a negative number after a flag that takes a value is that flag's value (checked later).
 */
function joinNegativeValues(argv: string[], options: Record<string, { type: string }>): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = argv[i + 1];
    const takesValue = a.startsWith("--") && options[a.slice(2)]?.type === "string";
    if (takesValue && next !== undefined && /^-(\d|\.\d|Infinity)/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

export function parseFlags(
  command: Command,
  argv: string[],
): { values: Record<string, FlagValue>; help: boolean } {
  const options: Record<string, { type: "string" | "boolean" }> = { help: { type: "boolean" } };
  for (const f of command.flags) options[f.name] = { type: f.kind === "boolean" ? "boolean" : "string" };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: joinNegativeValues(argv, options),
      options,
      strict: true,
      allowPositionals: false,
    });
  } catch (e) {
    const code = (e as { code?: string }).code;
    const msg = (e as Error).message;
    if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
      const flag = /'([^']+)'/.exec(msg)?.[1] ?? msg;
      const names = Object.keys(options).map((n) => `--${n}`);
      const hint = didYouMean(flag.split("=")[0]!, names);
      throw new UsageError(`unknown flag ${flag}${hint}; see 'diffuse ${command.name} --help'`);
    }
    if (code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") {
      const arg = /'([^']+)'/.exec(msg)?.[1] ?? msg;
      throw new UsageError(`unexpected argument ${JSON.stringify(arg)}; flags take the form --name value`);
    }
    throw new UsageError(msg.split("\n")[0]!.replace(/^Option '([^']+)'/, "flag $1"));
  }
  const values: Record<string, FlagValue> = {};
  for (const f of command.flags) {
    const raw = parsed.values[f.name];
    if (raw === undefined) continue;
    values[camel(f.name)] = typeof raw === "boolean" ? raw : convert(f, raw as string);
  }
  return { values, help: parsed.values.help === true };
}

/** The --help text of a command. */
export function helpText(command: Command): string {
  const rows = command.flags.map((f) => {
    const v =
      f.kind === "boolean" ? "" : ` ${f.value ?? (f.kind === "string" ? "STR" : f.kind.toUpperCase())}`;
    const choices = f.choices ? ` (${f.choices.join(" | ")})` : "";
    return [`  --${f.name}${v}`, `${f.help}${choices}`] as const;
  });
  rows.push(["  --help", "show this help"]);
  const width = Math.min(34, Math.max(...rows.map(([a]) => a.length)) + 2);
  const lines = rows.map(([a, b]) =>
    a.length + 2 > width ? `${a}\n${" ".repeat(width)}${b}` : a.padEnd(width) + b,
  );
  return [
    `diffuse ${command.name}: ${command.summary}`,
    "",
    `usage: ${command.usage}`,
    "",
    "flags:",
    ...lines,
    ...(command.epilog ? ["", command.epilog] : []),
    "",
  ].join("\n");
}
