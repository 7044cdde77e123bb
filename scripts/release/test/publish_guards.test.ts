// publish.ts refuses to publish, with a message saying what to do, on a temp git repo shaped
// like this workspace: dirty tree, pending changesets, split fixed group, no registry.

import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, runScript } from './helpers.js';

const repo = mkdtempSync(join(tmpdir(), 'vlreward-guard-test-'));
const git = (...args: string[]) => execFileSync('git', args, { cwd: repo, encoding: 'utf8' });
const write = (p: string, text: string) => {
  mkdirSync(join(repo, p, '..'), { recursive: true });
  writeFileSync(join(repo, p), text);
};
const pkg = (name: string, version: string) =>
  write(`packages/${name}/package.json`, JSON.stringify({ name: `@vlreward/${name}`, version, type: 'module', license: 'Apache-2.0' }, null, 2) + '\n');
const commitAll = (msg: string) => {
  git('add', '-A');
  git('-c', 'user.email=t@example.com', '-c', 'user.name=t', 'commit', '-q', '-m', msg);
};
const publish = async (...args: string[]) => runScript('publish.ts', ['--root', repo, '--no-build', ...args], cleanEnv());

beforeAll(() => {
  git('init', '-q');
  write('pnpm-workspace.yaml', 'packages:\n  - packages/*\n');
  write('.changeset/config.json', '{ "fixed": [["@vlreward/*"]] }\n');
  write('.changeset/README.md', 'changesets\n');
  pkg('a', '1.0.0');
  pkg('b', '1.0.0');
  commitAll('init');
});
afterAll(() => rmSync(repo, { recursive: true, force: true }));

describe('publish guards', () => {
  it('refuses a dirty working tree and names the files', async () => {
    write('packages/a/notes.txt', 'uncommitted\n');
    const r = await publish();
    rmSync(join(repo, 'packages/a/notes.txt'));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('refusing to publish: the working tree has 1 uncommitted change(s): packages/a/notes.txt');
  });

  it('refuses while changesets are pending and says to run version-packages', async () => {
    write('.changeset/brave-fox.md', '---\n"@vlreward/a": minor\n---\n\nnew thing\n');
    commitAll('changeset');
    const r = await publish();
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('1 changeset(s) not applied yet (.changeset/brave-fox.md)');
    expect(r.stderr).toContain('pnpm version-packages');
    rmSync(join(repo, '.changeset/brave-fox.md'));
    commitAll('versioned');
  });

  it('refuses a fixed group whose versions differ', async () => {
    pkg('b', '1.1.0');
    commitAll('hand bump');
    const r = await publish();
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('the fixed @vlreward/* group has different versions (1.0.0: @vlreward/a; 1.1.0: @vlreward/b)');
    pkg('b', '1.0.0');
    commitAll('undo');
  });

  it('refuses without a configured registry, then without a token', async () => {
    const r = await publish();
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('no registry: set VLREWARD_REGISTRY');
    const t = await runScript('publish.ts', ['--root', repo, '--no-build'], cleanEnv({ VLREWARD_REGISTRY: 'http://127.0.0.1:9/' }));
    expect(t.status).toBe(1);
    expect(t.stderr).toContain('no auth token: set VLREWARD_REGISTRY_TOKEN');
  });
});
