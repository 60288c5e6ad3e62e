// Generated from crates/attune/src/manifest.rs by its test
// `generated_typescript_rules_are_current`: do not edit. To regenerate:
//   ATTUNE_REGENERATE=1 cargo test -p attune generated_typescript_rules
// The bundle rules for code that cannot load the wasm engine (attune/onboarding
// paints before the engine arrives); everything else asks the engine itself.
// pkg/test/bundle-rules.test.ts checks this copy against the Rust verdicts on
// pkg/test/fixtures/path-cases.json.

/** Names a listed file can never take (compared ASCII case-insensitively). */
export const RESERVED_PATHS: readonly string[] = ["manifest.json","manifest.sig"];

/** Longest path a manifest may list, in bytes. */
export const MAX_PATH_BYTES = 1024;

/** Largest manifest.json a runtime reads, in bytes. */
export const MAX_MANIFEST_BYTES = 4194304;

/** Size of manifest.sig, in bytes. */
export const SIGNATURE_BYTES = 64;

/** Ed25519 public keys whose secret keys are published (RFC 8032 §7.1): refused as a
 *  pinned key unless test keys are allowed (development only). */
export const PUBLISHED_TEST_KEYS: readonly string[] = [
  "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
  "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
  "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
  "278117fc144c72340f67d0f2316e8386ceffbf2b2428c9c51fef7c597f1d426e",
  "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf"
];

const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._\-]*$/;

/** What is wrong with a file path a manifest lists, or `undefined` when it is a plain
 *  relative path that stays beside or below the manifest. */
export function pathProblem(path: string): string | undefined {
  if (path === '') return 'is empty';
  if (new TextEncoder().encode(path).length > MAX_PATH_BYTES) return 'is too long';
  if (!path.split('/').every((segment) => SEGMENT.test(segment))) return 'is not a plain relative path';
  const lower = path.replace(/[A-Z]/g, (c) => c.toLowerCase());
  if (RESERVED_PATHS.includes(lower)) return 'is reserved for the manifest and its signature';
  return undefined;
}
