// The generated copy of the engine's path rule (src/generated/bundle-rules.ts, for the
// onboarding module that runs before the engine) against the Rust verdicts that
// crates/attune writes into fixtures/path-cases.json: one rule, two runtimes, the same
// answers.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pathProblem, PUBLISHED_TEST_KEYS, RESERVED_PATHS } from '../dist/generated/bundle-rules.js';
import { repo } from './helpers.js';

const cases = JSON.parse(readFileSync(join(repo, 'pkg/test/fixtures/path-cases.json'), 'utf8')) as { path: string; problem: string | null }[];

describe('generated bundle rules', () => {
  it('give the Rust verdict on every case', () => {
    expect(cases.length).toBeGreaterThan(30);
    for (const c of cases) expect(pathProblem(c.path) ?? null, JSON.stringify(c.path)).toBe(c.problem);
  });

  it('reserve the manifest and signature names', () => {
    expect(RESERVED_PATHS).toEqual(['manifest.json', 'manifest.sig']);
    expect(PUBLISHED_TEST_KEYS).toContain(readFileSync(join(repo, 'models/movielens-100k/sequence/manifest.pub'), 'utf8').trim());
  });
});
