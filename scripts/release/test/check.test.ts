// The publish check on small temp packages: a correct one passes (publint, attw and all),
// one whose exports name a missing file fails and says which entry and file.

import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkPackage, isTestOnly } from '../check.js';
import { repoRoot } from '../lib/workspace.js';

const work = mkdtempSync(join(tmpdir(), 'vlreward-check-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const LICENSE = join(repoRoot(), 'LICENSE');

function tempPackage(name: string, manifest: Record<string, unknown>, files: Record<string, string>): string {
  const dir = join(work, name);
  mkdirSync(join(dir, 'dist'), { recursive: true });
  cpSync(LICENSE, join(dir, 'LICENSE'));
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: `@vlreward-test/${name}`, version: '1.0.0', license: 'Apache-2.0', type: 'module', files: ['dist'], ...manifest }, null, 2),
  );
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(join(dir, p, '..'), { recursive: true });
    writeFileSync(join(dir, p), text);
  }
  return dir;
}

const GOOD_FILES = { 'dist/index.js': 'export const answer = 42;\n', 'dist/index.d.ts': 'export declare const answer: number;\n' };
const GOOD_EXPORTS = { '.': { types: './dist/index.d.ts', default: './dist/index.js' }, './package.json': './package.json' };

describe('publish check', () => {
  it('passes a well-formed ESM package, with its tarball size', async () => {
    const dir = tempPackage('good', { exports: GOOD_EXPORTS }, GOOD_FILES);
    const r = await checkPackage(dir, { outDir: join(work, 'out'), licenseFile: LICENSE });
    expect(r.errors).toEqual([]);
    expect(r.fileCount).toBe(4); // package.json, LICENSE, index.js, index.d.ts
    expect(r.packedBytes).toBeGreaterThan(0);
  });

  it('fails a package whose exports point at a missing file, naming the entry and the file', async () => {
    const dir = tempPackage('missing', { exports: { ...GOOD_EXPORTS, './extra': { types: './dist/extra.d.ts', default: './dist/extra.js' } } }, GOOD_FILES);
    const r = await checkPackage(dir, { outDir: join(work, 'out'), licenseFile: LICENSE });
    const text = r.errors.join('\n');
    expect(text).toContain('exports["./extra"]["default"] → ./dist/extra.js is not in the tarball');
    expect(text).toContain('exports["./extra"]["types"] → ./dist/extra.d.ts is not in the tarball');
    expect(text).toContain('@vlreward-test/missing@1.0.0');
  });

  it('fails a leaked source condition, test files in the tarball, test-only dependencies and a missing licence', async () => {
    const dir = tempPackage(
      'leaky',
      {
        exports: { '.': { '@vlreward/source': './src/index.ts', types: './dist/index.d.ts', default: './dist/index.js' } },
        files: ['dist', 'test'],
        dependencies: { vitest: '^3.0.0' },
      },
      { ...GOOD_FILES, 'test/a.test.js': 'test\n' },
    );
    rmSync(join(dir, 'LICENSE'));
    const r = await checkPackage(dir, { outDir: join(work, 'out'), licenseFile: LICENSE, attw: false });
    const text = r.errors.join('\n');
    expect(text).toContain('publishConfig.exports must equal "exports" without the "@vlreward/source" condition');
    expect(text).toContain('packed exports still carry the "@vlreward/source" condition');
    expect(text).toContain('tarball holds test/a.test.js');
    expect(text).toContain('dependency "vitest" is test/build-only');
    expect(text).toContain('no LICENSE file');
  });

  it('knows the test-only dependencies', () => {
    expect(['vitest', '@vitest/expect', 'tsx', '@vlreward/test-utils', 'verdaccio'].every(isTestOnly)).toBe(true);
    expect(['sharp', 'onnxruntime-node', '@vlreward/graph', '@huggingface/transformers'].some(isTestOnly)).toBe(false);
  });
});
