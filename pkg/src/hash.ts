/** sha256 through WebCrypto. `crypto.subtle` exists only in secure contexts (https,
 *  localhost, and the schemes web views register as secure); elsewhere the engine's
 *  own check (every file against the manifest's sha256) still runs. */
export async function sha256Hex(bytes: Uint8Array): Promise<string | undefined> {
  const subtle = (globalThis as { crypto?: Crypto }).crypto?.subtle;
  if (!subtle) return undefined;
  const digest = new Uint8Array(await subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  let hex = '';
  for (const b of digest) hex += b.toString(16).padStart(2, '0');
  return hex;
}

/** Accepts `sha256-<64 hex>` and the SRI form `sha256-<base64>`; returns hex, or
 *  undefined when the string is neither. */
export function parseIntegrity(integrity: string): string | undefined {
  const m = /^sha256-(.+)$/.exec(integrity.trim());
  if (!m) return undefined;
  const v = m[1]!;
  if (/^[0-9a-fA-F]{64}$/.test(v)) return v.toLowerCase();
  try {
    const bin = atob(v);
    if (bin.length !== 32) return undefined;
    let hex = '';
    for (let i = 0; i < bin.length; i++) hex += bin.charCodeAt(i).toString(16).padStart(2, '0');
    return hex;
  } catch {
    return undefined;
  }
}
