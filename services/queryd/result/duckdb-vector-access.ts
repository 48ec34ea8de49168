import type { DuckDBDataChunk } from "@duckdb/node-api";
import duckdb from "@duckdb/node-bindings";
import type { GrowableBytes } from "./growable-bytes.js";

/**
 * Raw access to DuckDB vector memory through @duckdb/node-bindings, the
 * documented way to reach column data as bytes: @duckdb/node-api's vectors
 * keep their typed arrays private, and reading value by value through them
 * is several times slower than copying whole buffers into Arrow.
 */
export type RawVector = duckdb.Vector;

const EMPTY = new Uint8Array(0);

/** The size of a DuckDB string_t: length plus inline prefix or pointer. */
export const STRING_T_BYTES = 16;

/** The size of a DuckDB list_entry_t: uint64 offset and uint64 length. */
export const LIST_ENTRY_BYTES = 16;

// The boolean copy below reads one byte per value.
if (duckdb.sizeof_bool !== 1) {
  throw new Error(`unsupported DuckDB boolean size ${duckdb.sizeof_bool}`);
}

/** The vector of one column of a chunk. */
export function chunkColumnVector(chunk: DuckDBDataChunk, columnIndex: number): RawVector {
  return duckdb.data_chunk_get_vector(chunk.chunk, columnIndex);
}

/** The first `byteCount` bytes of a vector's data, viewing DuckDB's memory. */
export function vectorBytes(vector: RawVector, byteCount: number): Uint8Array {
  return byteCount === 0 ? EMPTY : duckdb.vector_get_data(vector, byteCount);
}

/**
 * The validity bitmap of a vector's first `itemCount` items (LSB first, the
 * same bit order as Arrow), or null when DuckDB keeps no mask: all valid.
 */
export function vectorValidity(vector: RawVector, itemCount: number): Uint8Array | null {
  if (itemCount === 0) return null;
  const bytes = duckdb.vector_get_validity(vector, Math.ceil(itemCount / 64) * 8);
  return bytes ?? null;
}

/** Whether item `index` is valid in a bitmap from `vectorValidity`. */
export function isValid(validity: Uint8Array | null, index: number): boolean {
  return validity === null || ((validity[index >> 3] ?? 0) & (1 << (index & 7))) !== 0;
}

/**
 * Appends the bytes of string_t number `index` in a VARCHAR/BLOB/BIT
 * vector's data to `target` and returns how many: up to 12 bytes are inline
 * after the length and are copied without allocating anything (most strings
 * of most columns), longer ones live behind a pointer that only the binding
 * can follow.
 */
export function appendStringBytes(data: Uint8Array, index: number, target: GrowableBytes): number {
  const at = index * STRING_T_BYTES;
  const length =
    ((data[at] ?? 0) |
      ((data[at + 1] ?? 0) << 8) |
      ((data[at + 2] ?? 0) << 16) |
      ((data[at + 3] ?? 0) << 24)) >>>
    0;
  if (length > 12) {
    target.append(
      duckdb.get_data_from_pointer(data.buffer as ArrayBuffer, data.byteOffset + at + 8, length),
    );
    return length;
  }
  const buffer = target.reserve(length);
  const start = target.length;
  for (let k = 0; k < length; k++) buffer[start + k] = data[at + 4 + k] ?? 0;
  target.length += length;
  return length;
}

/** The child vector of a LIST or MAP vector and how many items it holds. */
export function listChild(vector: RawVector): { vector: RawVector; length: number } {
  return {
    vector: duckdb.list_vector_get_child(vector),
    length: duckdb.list_vector_get_size(vector),
  };
}

/** Child `index` of a STRUCT vector (same length as the parent). */
export function structChild(vector: RawVector, index: number): RawVector {
  return duckdb.struct_vector_get_child(vector, index);
}

/** The child vector of an ARRAY vector (parent length × array size items). */
export function arrayChild(vector: RawVector): RawVector {
  return duckdb.array_vector_get_child(vector);
}
