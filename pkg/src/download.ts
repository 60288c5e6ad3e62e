/**
 * Downloads whose size is bounded by the runtime or by the (verified) manifest, never
 * by the server: a body stops being read as soon as it passes its limit. Shared by
 * `loadBundle` and `attune/onboarding`; imports no wasm.
 */

/** Reads a response body, failing as soon as it passes `limit` bytes (a declared
 *  `Content-Length` over the limit fails before reading). `onChunk` sees each chunk's
 *  size, for progress. */
export async function readCapped(
  response: Response,
  limit: number,
  tooLarge: () => Error,
  onChunk: (n: number) => void = () => {},
): Promise<Uint8Array> {
  const declared = Number(response.headers.get('Content-Length') ?? NaN);
  if (Number.isFinite(declared) && declared > limit) {
    await response.body?.cancel().catch(() => {});
    throw tooLarge();
  }
  if (!response.body) {
    const b = new Uint8Array(await response.arrayBuffer());
    if (b.byteLength > limit) throw tooLarge();
    onChunk(b.byteLength);
    return b;
  }
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(value);
    onChunk(value.byteLength);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}
