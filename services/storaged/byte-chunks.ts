/** The chunk size the contract promises and the transport moves fastest. */
export const CHUNK_BYTES = 1024 * 1024;

/**
 * Regroups a byte stream into chunks of at most `maxBytes`, merging small
 * ones: tiny messages cost per-message overhead (S3 bodies arrive in ~64 KiB
 * pieces), and one message must never exceed the promised 1 MiB.
 */
export async function* rechunk(
  body: AsyncIterable<Uint8Array>,
  maxBytes = CHUNK_BYTES,
): AsyncGenerator<Uint8Array, void, undefined> {
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  const flush = (): Uint8Array => {
    const out = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
    pending = [];
    pendingBytes = 0;
    return out;
  };
  for await (const chunk of body) {
    let offset = 0;
    while (offset < chunk.byteLength) {
      const take = Math.min(maxBytes - pendingBytes, chunk.byteLength - offset);
      pending.push(chunk.subarray(offset, offset + take));
      pendingBytes += take;
      offset += take;
      if (pendingBytes === maxBytes) yield flush();
    }
  }
  if (pendingBytes > 0) yield flush();
}
