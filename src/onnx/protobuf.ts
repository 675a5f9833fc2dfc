/**
 * A minimal protobuf wire-format writer (https://protobuf.dev/programming-guides/encoding/).
 *
 * Enough to encode ONNX models: varints (including negative and 64-bit values, written as 10-byte
 * two's complement like protobuf's int64), length-delimited fields (bytes, strings, nested messages),
 * fixed32 floats and packed repeated scalars. Zigzag (sint32/sint64) is not needed by onnx.proto.
 * Uses no Node-only API.
 */

/** Protobuf wire types (the low 3 bits of a field tag). */
export const WireType = { varint: 0, fixed64: 1, lengthDelimited: 2, fixed32: 5 } as const;

const textEncoder = new TextEncoder();
const TWO_POW_32 = 2 ** 32;

/** A growable byte buffer that appends protobuf fields. Fields are written in call order. */
export class ProtoWriter {
  private buf: Uint8Array;
  private view: DataView;
  private pos = 0;

  constructor(initialCapacity = 256) {
    this.buf = new Uint8Array(Math.max(16, initialCapacity));
    this.view = new DataView(this.buf.buffer);
  }

  /** Number of bytes written so far. */
  get length(): number {
    return this.pos;
  }

  /** The bytes written so far (a copy sized exactly to the content). */
  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }

  /** Writes a field key: `(field << 3) | wireType`. */
  tag(field: number, wireType: number): this {
    if (!Number.isInteger(field) || field < 1 || field > 0x1fffffff) {
      throw new RangeError(`protobuf field number: got ${field}, expected an integer in [1, 2^29 - 1]`);
    }
    return this.uvarint(field * 8 + wireType);
  }

  /**
   * Writes a varint. Accepts any safe integer or bigint in [-2^63, 2^64); negative values are
   * written as 64-bit two's complement (10 bytes), as protobuf does for int32/int64 fields.
   */
  varint(value: number | bigint): this {
    if (typeof value === "number") {
      if (!Number.isSafeInteger(value)) {
        throw new RangeError(
          `protobuf varint: got ${value}, expected a safe integer (use a bigint beyond 2^53)`,
        );
      }
      if (value >= 0) return this.uvarint(value);
      value = BigInt(value);
    }
    if (value < -(1n << 63n) || value >= 1n << 64n) {
      throw new RangeError(`protobuf varint: got ${value}, expected a value in [-2^63, 2^64)`);
    }
    let v = BigInt.asUintN(64, value);
    this.reserve(10);
    while (v >= 0x80n) {
      this.buf[this.pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.pos++] = Number(v);
    return this;
  }

  /** Writes a fixed32 little-endian IEEE-754 float. */
  float32(value: number): this {
    this.reserve(4);
    this.view.setFloat32(this.pos, value, true);
    this.pos += 4;
    return this;
  }

  /** Writes raw bytes (no tag, no length). */
  raw(bytes: Uint8Array): this {
    this.reserve(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
    return this;
  }

  /** Field of wire type varint (int32, int64, enum, bool). */
  varintField(field: number, value: number | bigint): this {
    return this.tag(field, WireType.varint).varint(value);
  }

  /** Field of wire type fixed32 holding a float. */
  floatField(field: number, value: number): this {
    return this.tag(field, WireType.fixed32).float32(value);
  }

  /** Length-delimited field holding raw bytes. */
  bytesField(field: number, bytes: Uint8Array): this {
    return this.tag(field, WireType.lengthDelimited).uvarint(bytes.length).raw(bytes);
  }

  /** Length-delimited field holding a UTF-8 string. */
  stringField(field: number, value: string): this {
    return this.bytesField(field, textEncoder.encode(value));
  }

  /** Length-delimited field holding a nested message written by `write` into a fresh writer. */
  messageField(field: number, write: (w: ProtoWriter) => void): this {
    const sub = new ProtoWriter();
    write(sub);
    this.tag(field, WireType.lengthDelimited).uvarint(sub.pos);
    this.reserve(sub.pos);
    this.buf.set(sub.buf.subarray(0, sub.pos), this.pos);
    this.pos += sub.pos;
    return this;
  }

  /** Packed repeated varints (one length-delimited field). Nothing is written for an empty list. */
  packedVarints(field: number, values: readonly (number | bigint)[]): this {
    if (values.length === 0) return this;
    const sub = new ProtoWriter(values.length * 2);
    for (const v of values) sub.varint(v);
    return this.bytesField(field, sub.buf.subarray(0, sub.pos));
  }

  /** Packed repeated fixed32 floats. Nothing is written for an empty list. */
  packedFloats(field: number, values: readonly number[] | Float32Array): this {
    if (values.length === 0) return this;
    this.tag(field, WireType.lengthDelimited).uvarint(values.length * 4);
    for (const v of values) this.float32(v);
    return this;
  }

  /** Unpacked repeated varints: one tagged field per value (proto2's default for `repeated int64`). */
  repeatedVarints(field: number, values: readonly (number | bigint)[]): this {
    for (const v of values) this.varintField(field, v);
    return this;
  }

  /** Unpacked repeated floats: one tagged fixed32 field per value. */
  repeatedFloats(field: number, values: readonly number[]): this {
    for (const v of values) this.floatField(field, v);
    return this;
  }

  /** Non-negative varint below 2^53, without BigInt. */
  private uvarint(value: number): this {
    this.reserve(10);
    while (value >= TWO_POW_32) {
      this.buf[this.pos++] = (value % 128) | 0x80;
      value = Math.floor(value / 128);
    }
    while (value >= 0x80) {
      this.buf[this.pos++] = (value & 0x7f) | 0x80;
      value >>>= 7;
    }
    this.buf[this.pos++] = value;
    return this;
  }

  private reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.pos + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
}
