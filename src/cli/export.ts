/** `diffuse export`: a trained model as a standalone ONNX model + scheduler config + manifest. */
import { exportModelFolder, MANIFEST_FILE } from "../pipelines/export-node.js";
import { type Command, helpText, parseFlags, UsageError } from "./args.js";

export const EXPORT_COMMAND: Command = {
  name: "export",
  summary: "write a trained model as a standalone ONNX model",
  usage: "diffuse export --model DIR --out DIR",
  flags: [
    { name: "model", kind: "string", value: "DIR", help: "model folder (pipeline or bare model)" },
    { name: "out", kind: "string", value: "DIR", help: "folder to write the ONNX model into" },
  ],
  epilog: [
    "Writes denoiser.onnx (inputs sample [batch, ...], timestep int32 [batch], class_labels int32",
    `[batch] for class-conditional models; output model_output), scheduler_config.json and ${MANIFEST_FILE}.`,
  ].join("\n"),
};

export async function exportMain(argv: string[]): Promise<number> {
  const { values, help } = parseFlags(EXPORT_COMMAND, argv);
  if (help) {
    process.stdout.write(helpText(EXPORT_COMMAND));
    return 0;
  }
  if (typeof values.model !== "string")
    throw new UsageError("--model: required (the folder of a trained model)");
  if (typeof values.out !== "string") throw new UsageError("--out: required (the folder to write into)");
  const m = await exportModelFolder(values.model, values.out);
  const shape = (s: (number | string)[]) => `[${s.join(", ")}]`;
  const lines = [
    `wrote ${values.out}/${m.files.model} (${m.className}, opset ${m.opset})`,
    ...m.inputs.map((v) => `  input  ${v.name.padEnd(13)}${v.dtype.padEnd(8)}${shape(v.shape)}`),
    ...m.outputs.map((v) => `  output ${v.name.padEnd(13)}${v.dtype.padEnd(8)}${shape(v.shape)}`),
    `and ${m.files.schedulerConfig}, ${MANIFEST_FILE}`,
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
  return 0;
}
