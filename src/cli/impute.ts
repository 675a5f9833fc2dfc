/**
 * `diffuse impute`: fill the empty cells of a CSV table with a joint diffusion model trained on a
 * table (`diffuse train --dataset table:FILE`). Each row's missing cells are sampled conditioned on
 * its present cells (pipelines/impute.ts); present cells are copied to the output unchanged (the
 * same text). The CSV must have exactly the model's columns (any order); errors name the missing or
 * extra columns, or the line and column of a cell that does not parse. Nothing is written on error.
 */
import path from "node:path";
import { type CsvCells, formatCsv, readCsvCells } from "../data/table.js";
import {
  checkTableSchema,
  decodeRows,
  encodeRows,
  isMissing,
  type TableSchema,
} from "../data/table-schema.js";
import { makeDir } from "../io/dirs.js";
import { writeFileAtomic } from "../io/files.js";
import { attachFile, InputFileError } from "../io/input-error.js";
import { imputeEncoded } from "../pipelines/impute.js";
import { MODEL_INDEX_FILE } from "../pipelines/model-folder-node.js";
import { loadPipeline } from "../pipelines/pipeline-node.js";
import { type Command, type FlagValue, helpText, parseFlags, UsageError } from "./args.js";
import { LIMIT_FLAGS, MEMORY_HINT, memoryLimitFrom, threadsFrom } from "./limits.js";

export const IMPUTE_COMMAND: Command = {
  name: "impute",
  summary: "fill the empty cells of a CSV table with a model trained on a table",
  usage: "diffuse impute --model DIR --csv IN --out OUT [--sampler NAME] [--steps N] [--draws K] [--seed S]",
  flags: [
    {
      name: "model",
      kind: "string",
      value: "DIR",
      help: "model folder of `diffuse train --dataset table:FILE`",
    },
    {
      name: "csv",
      kind: "string",
      value: "FILE",
      help: "CSV table with the model's columns; empty cells are filled",
    },
    {
      name: "out",
      kind: "string",
      value: "FILE",
      help: "output CSV (the input with its empty cells filled)",
    },
    {
      name: "sampler",
      kind: "string",
      value: "NAME",
      help: "sampler (default ddpm: stochastic steps let the replaced cells mix in)",
    },
    { name: "steps", kind: "posint", value: "N", help: "sampling steps (default 100)" },
    {
      name: "draws",
      kind: "posint",
      value: "K",
      help: "average K independent samples per row (default 1: one sample of p(missing | present))",
    },
    {
      name: "repaint-jump",
      kind: "posint",
      value: "J",
      help: "RePaint resampling (Lugmayr et al. 2022): jump length J (with --repaint-resample)",
    },
    {
      name: "repaint-resample",
      kind: "posint",
      value: "R",
      help: "RePaint resampling: resample count R (1: plain replacement)",
    },
    {
      name: "reconstruction-guidance",
      kind: "number",
      value: "W",
      help: "reconstruction guidance weight (Ho et al. 2022) on top of replacement (0: off)",
    },
    { name: "seed", kind: "int", value: "S", help: "seed of the noise (default 0)" },
    { name: "threads", kind: "int", value: "N", help: "ONNX Runtime threads (0: all cores)" },
    ...LIMIT_FLAGS,
  ],
  epilog:
    "Present cells are kept as they are; each empty cell gets a number (numeric columns) or a category\n(categorical columns) of the training table. Rows without empty cells are copied unchanged.",
};

/** --repaint-jump / --repaint-resample: both or neither. */
function repaintFrom(values: Record<string, FlagValue>): { repaint?: { jump: number; resample: number } } {
  const { repaintJump: jump, repaintResample: resample } = values;
  if (jump === undefined && resample === undefined) return {};
  if (jump === undefined || resample === undefined) {
    throw new UsageError("--repaint-jump and --repaint-resample: give both (RePaint) or neither");
  }
  return { repaint: { jump: jump as number, resample: resample as number } };
}

/** The input's columns against the schema's: the index of each schema column in the input. */
export function matchColumns(cells: CsvCells, schema: TableSchema, modelDir: string): number[] {
  const want = schema.columns.map((c) => c.name);
  const missing = want.filter((n) => !cells.names.includes(n));
  const extra = cells.names.filter((n) => !want.includes(n));
  if (missing.length > 0 || extra.length > 0) {
    const parts = [
      ...(missing.length ? [`missing ${missing.map((n) => JSON.stringify(n)).join(", ")}`] : []),
      ...(extra.length ? [`not in the model: ${extra.map((n) => JSON.stringify(n)).join(", ")}`] : []),
    ];
    throw new InputFileError(
      cells.file,
      `columns differ from the model's training columns (${parts.join("; ")}); ${modelDir} was trained on [${want.join(", ")}]`,
    );
  }
  return want.map((n) => cells.names.indexOf(n));
}

export async function imputeMain(argv: string[]): Promise<number> {
  const { values, help } = parseFlags(IMPUTE_COMMAND, argv);
  if (help) {
    process.stdout.write(helpText(IMPUTE_COMMAND));
    return 0;
  }
  for (const f of ["model", "csv", "out"] as const) {
    if (typeof values[f] !== "string") throw new UsageError(`--${f}: required`);
  }
  const modelDir = values.model as string;
  const out = values.out as string;
  const threads = threadsFrom(values.threads, values);
  const model = await loadPipeline(modelDir, {
    maxMemory: memoryLimitFrom(values),
    memoryHint: MEMORY_HINT,
  });
  const indexFile = path.join(modelDir, MODEL_INDEX_FILE);
  if (model.info.table === undefined) {
    throw new InputFileError(
      indexFile,
      `model ${modelDir} has no table schema ("_diffuse.table"); impute needs a model trained with --dataset table:FILE`,
      { named: true },
    );
  }
  const schema = checkTableSchema(model.info.table, `${indexFile} "_diffuse.table"`);
  const cells = readCsvCells(values.csv as string);
  const order = matchColumns(cells, schema, modelDir);
  const rows = cells.rows.map((r) => order.map((j) => r[j]!));
  let encoded: ReturnType<typeof encodeRows>;
  try {
    encoded = encodeRows(schema, rows, { lines: cells.lines });
  } catch (e) {
    throw attachFile(e, cells.file);
  }
  // Only rows with an empty cell are sampled.
  const todo = rows.flatMap((r, i) => (r.some(isMissing) ? [i] : []));
  const { dim } = encoded;
  const pick = (a: Float32Array) => {
    const o = new Float32Array(todo.length * dim);
    todo.forEach((i, k) => {
      o.set(a.subarray(i * dim, (i + 1) * dim), k * dim);
    });
    return o;
  };
  await makeDir(path.dirname(path.resolve(out)), "--out");
  const filled =
    todo.length === 0
      ? new Float32Array(0)
      : await imputeEncoded(
          model,
          schema,
          { data: pick(encoded.data), known: pick(encoded.known), dim },
          {
            ...repaintFrom(values),
            ...(values.reconstructionGuidance !== undefined
              ? { reconstructionGuidance: values.reconstructionGuidance as number }
              : {}),
            ...(values.sampler !== undefined ? { sampler: values.sampler as string } : {}),
            ...(values.steps !== undefined ? { steps: values.steps as number } : {}),
            ...(values.draws !== undefined ? { draws: values.draws as number } : {}),
            seed: (values.seed as number | undefined) ?? 0,
            threads,
          },
        );
  const decoded = decodeRows(schema, filled);
  const result = cells.rows.map((r) => [...r]);
  let filledCells = 0;
  todo.forEach((i, k) => {
    order.forEach((j, c) => {
      if (isMissing(result[i]![j])) {
        result[i]![j] = decoded[k]![c]!;
        filledCells++;
      }
    });
  });
  await writeFileAtomic(out, formatCsv(cells.names, result));
  process.stdout.write(
    `${JSON.stringify({ out, rows: rows.length, rowsFilled: todo.length, cellsFilled: filledCells })}\n`,
  );
  return 0;
}
