/**
 * Node entry of the ONNX backend: binds `OnnxSession` to onnxruntime-node (native CPU runtime,
 * and CUDA where its provider is installed). Browser code passes onnxruntime-web to `OnnxSession` instead.
 */
import * as ort from "onnxruntime-node";
import { OnnxSession, type OnnxSessionOptions, type OrtLike } from "./runtime.js";

/** onnxruntime-node viewed through the subset of its API that diffuse uses. */
export const nodeOrt: OrtLike = ort;

/** Creates an `OnnxSession` on onnxruntime-node. */
export function createNodeSession(model: Uint8Array, options?: OnnxSessionOptions): Promise<OnnxSession> {
  return OnnxSession.create(nodeOrt, model, options);
}
