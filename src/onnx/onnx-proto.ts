/**
 * Encoders for the subset of ONNX's protobuf schema (onnx/onnx, `onnx/onnx.proto`) that diffuse emits.
 * Field numbers below are those of onnx.proto; each message is a plain object encoded by one function.
 * Repeated scalar fields are written packed where onnx.proto declares `[packed = true]` and unpacked
 * otherwise (proto2's default), matching what the reference `onnx` Python package writes.
 */
import type { OnnxArray, OnnxDType } from "./dtype.js";
import { ProtoWriter } from "./protobuf.js";

/** `TensorProto.DataType` codes. */
export const TENSOR_DATA_TYPE: Readonly<Record<OnnxDType, number>> = {
  float32: 1,
  int32: 6,
  int64: 7,
  bool: 9,
};

/** `AttributeProto.AttributeType` codes. */
export const ATTRIBUTE_TYPE = {
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  GRAPH: 5,
  FLOATS: 6,
  INTS: 7,
} as const;

/** A dense tensor value (`TensorProto`), stored as little-endian `raw_data`. */
export interface TensorSpec {
  name?: string;
  dtype: OnnxDType;
  dims: readonly number[];
  data: OnnxArray;
}

/** An attribute value, tagged by its ONNX attribute type. */
export type AttrValue =
  | { type: "INT"; value: number | bigint }
  | { type: "FLOAT"; value: number }
  | { type: "STRING"; value: string }
  | { type: "INTS"; value: readonly (number | bigint)[] }
  | { type: "FLOATS"; value: readonly number[] }
  | { type: "TENSOR"; value: TensorSpec }
  /** A subgraph (the body of Scan, Loop, If). */
  | { type: "GRAPH"; value: GraphSpec };

/** A named attribute (`AttributeProto`). */
export interface AttributeSpec {
  name: string;
  attr: AttrValue;
}

/** A graph node (`NodeProto`). An empty input name marks an omitted optional input. */
export interface NodeSpec {
  opType: string;
  inputs: readonly string[];
  outputs: readonly string[];
  name?: string;
  domain?: string;
  attributes?: readonly AttributeSpec[];
}

/** A dimension: a fixed size or a symbolic name (`dim_param`). */
export type DimSpec = number | string;

/** A typed, shaped value (`ValueInfoProto` with a `TypeProto.Tensor` type). */
export interface ValueInfoSpec {
  name: string;
  dtype: OnnxDType;
  shape: readonly DimSpec[];
}

/** A graph (`GraphProto`). Nodes must be in topological order. */
export interface GraphSpec {
  name: string;
  nodes: readonly NodeSpec[];
  initializers: readonly TensorSpec[];
  inputs: readonly ValueInfoSpec[];
  outputs: readonly ValueInfoSpec[];
  valueInfo?: readonly ValueInfoSpec[];
}

/** An operator set import (`OperatorSetIdProto`); `domain` "" is the default ONNX domain. */
export interface OpsetSpec {
  domain: string;
  version: number;
}

/** A model (`ModelProto`). */
export interface ModelSpec {
  irVersion: number;
  opsets: readonly OpsetSpec[];
  producerName?: string;
  producerVersion?: string;
  graph: GraphSpec;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The bytes of `data` in little-endian order (a view when the platform is little-endian). */
export function littleEndianBytes(data: OnnxArray): Uint8Array {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (LITTLE_ENDIAN || data.BYTES_PER_ELEMENT === 1) return bytes;
  const out = new Uint8Array(bytes.length);
  const k = data.BYTES_PER_ELEMENT;
  for (let i = 0; i < bytes.length; i += k) {
    for (let j = 0; j < k; j++) out[i + j] = bytes[i + k - 1 - j]!;
  }
  return out;
}

/** `TensorProto`: dims = 1, data_type = 2, name = 8, raw_data = 9. */
export function writeTensor(w: ProtoWriter, t: TensorSpec): void {
  w.repeatedVarints(1, t.dims);
  w.varintField(2, TENSOR_DATA_TYPE[t.dtype]);
  if (t.name !== undefined) w.stringField(8, t.name);
  w.bytesField(9, littleEndianBytes(t.data));
}

/** `AttributeProto`: name = 1, f = 2, i = 3, s = 4, t = 5, g = 6, floats = 7, ints = 8, type = 20. */
export function writeAttribute(w: ProtoWriter, a: AttributeSpec): void {
  w.stringField(1, a.name);
  const { attr } = a;
  switch (attr.type) {
    case "FLOAT":
      w.floatField(2, attr.value);
      break;
    case "INT":
      w.varintField(3, attr.value);
      break;
    case "STRING":
      w.stringField(4, attr.value);
      break;
    case "TENSOR":
      w.messageField(5, (s) => writeTensor(s, attr.value));
      break;
    case "GRAPH":
      w.messageField(6, (s) => writeGraph(s, attr.value));
      break;
    case "FLOATS":
      w.repeatedFloats(7, attr.value);
      break;
    case "INTS":
      w.repeatedVarints(8, attr.value);
      break;
  }
  w.varintField(20, ATTRIBUTE_TYPE[attr.type]);
}

/** `NodeProto`: input = 1, output = 2, name = 3, op_type = 4, attribute = 5, domain = 7. */
export function writeNode(w: ProtoWriter, n: NodeSpec): void {
  for (const i of n.inputs) w.stringField(1, i);
  for (const o of n.outputs) w.stringField(2, o);
  if (n.name !== undefined) w.stringField(3, n.name);
  w.stringField(4, n.opType);
  for (const a of n.attributes ?? []) w.messageField(5, (s) => writeAttribute(s, a));
  if (n.domain) w.stringField(7, n.domain);
}

/**
 * `ValueInfoProto` (name = 1, type = 2) with `TypeProto` (tensor_type = 1), `TypeProto.Tensor`
 * (elem_type = 1, shape = 2), `TensorShapeProto` (dim = 1) and `Dimension` (dim_value = 1, dim_param = 2).
 */
export function writeValueInfo(w: ProtoWriter, v: ValueInfoSpec): void {
  w.stringField(1, v.name);
  w.messageField(2, (type) =>
    type.messageField(1, (tensor) => {
      tensor.varintField(1, TENSOR_DATA_TYPE[v.dtype]);
      tensor.messageField(2, (shape) => {
        for (const d of v.shape) shape.messageField(1, (dim) => writeDim(dim, d, v.name));
      });
    }),
  );
}

function writeDim(w: ProtoWriter, d: DimSpec, valueName: string): void {
  if (typeof d === "string") {
    w.stringField(2, d);
  } else if (Number.isSafeInteger(d) && d >= 0) {
    w.varintField(1, d);
  } else {
    throw new RangeError(
      `shape of "${valueName}": got dimension ${d}, expected a non-negative integer or a name`,
    );
  }
}

/**
 * `GraphProto`: node = 1, name = 2, initializer = 5, input = 11, output = 12, value_info = 13.
 */
export function writeGraph(w: ProtoWriter, g: GraphSpec): void {
  for (const n of g.nodes) w.messageField(1, (s) => writeNode(s, n));
  w.stringField(2, g.name);
  for (const t of g.initializers) w.messageField(5, (s) => writeTensor(s, t));
  for (const v of g.inputs) w.messageField(11, (s) => writeValueInfo(s, v));
  for (const v of g.outputs) w.messageField(12, (s) => writeValueInfo(s, v));
  for (const v of g.valueInfo ?? []) w.messageField(13, (s) => writeValueInfo(s, v));
}

/** `OperatorSetIdProto`: domain = 1, version = 2. */
export function writeOpset(w: ProtoWriter, o: OpsetSpec): void {
  w.stringField(1, o.domain);
  w.varintField(2, o.version);
}

/**
 * `ModelProto`: ir_version = 1, producer_name = 2, producer_version = 3, graph = 7, opset_import = 8.
 */
export function encodeModel(m: ModelSpec): Uint8Array {
  const w = new ProtoWriter(1024);
  w.varintField(1, m.irVersion);
  if (m.producerName !== undefined) w.stringField(2, m.producerName);
  if (m.producerVersion !== undefined) w.stringField(3, m.producerVersion);
  w.messageField(7, (s) => writeGraph(s, m.graph));
  for (const o of m.opsets) w.messageField(8, (s) => writeOpset(s, o));
  return w.finish();
}
