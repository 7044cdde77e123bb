import { chmod, mkdtemp, readFile, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CorruptCheckpointError, loadCheckpoint, readPeftAdapter, saveCheckpoint, verifyCheckpoint } from '@vlreward/checkpoint';
import { describeFsError } from '../src/fs_errors.js';
import { loraContents } from './helpers/fixtures.js';

// A file that is there but cannot be read (symlink loop, permissions) is
// reported as what it is, naming the path; only absence is "missing". Broken
// JSON names the file and where it breaks.

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vlreward-unreadable-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function fresh(name: string): Promise<string> {
  const out = join(dir, name);
  await saveCheckpoint(out, loraContents(6));
  return out;
}

/** Replace `file` by a symlink to itself (stat/open fail with ELOOP). */
async function loop(path: string): Promise<void> {
  await unlink(path);
  await symlink(path, path);
}

describe('unreadable checkpoint files', () => {
  it('a symlink loop is reported as a symlink loop with its path, by verify, load and readPeftAdapter', async () => {
    const out = await fresh('eloop');
    const weights = join(out, 'adapter_model.safetensors');
    await loop(weights);
    const e = await verifyCheckpoint(out).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CorruptCheckpointError);
    expect((e as CorruptCheckpointError).problems).toEqual([
      `adapter_model.safetensors: ${weights}: symlink loop (ELOOP: too many levels of symbolic links), cannot be read`,
    ]);
    expect((e as Error).message).not.toMatch(/missing/);
    await expect(loadCheckpoint(out)).rejects.toThrow(`${weights}: symlink loop (ELOOP`);
    await expect(readPeftAdapter(out)).rejects.toThrow(`${weights}: symlink loop (ELOOP`);

    const man = await fresh('eloop-manifest');
    await loop(join(man, 'vlreward.json'));
    await expect(loadCheckpoint(man)).rejects.toThrow(`${join(man, 'vlreward.json')}: symlink loop (ELOOP`);
    await expect(verifyCheckpoint(man)).rejects.toThrow(`${join(man, 'vlreward.json')}: symlink loop (ELOOP`);
  });

  it('a permission error is named as such (errno code and path), not as a missing file', async () => {
    const err = Object.assign(new Error("EACCES: permission denied, open '/x/classifier.safetensors'"), { code: 'EACCES' });
    expect(describeFsError(err, '/x/classifier.safetensors')).toBe('/x/classifier.safetensors: permission denied (EACCES), cannot be read');
    expect(describeFsError(Object.assign(new Error('gone'), { code: 'ENOENT' }), '/x/a')).toBe('/x/a: file not found');
  });

  // root reads files whatever their mode, so the real chmod case only means something for other users.
  it.skipIf(process.getuid?.() === 0)('a checkpoint file without read permission: verify says permission denied with its path', async () => {
    const out = await fresh('eacces');
    const head = join(out, 'classifier.safetensors');
    await chmod(head, 0o000);
    try {
      await expect(verifyCheckpoint(out)).rejects.toThrow(`classifier.safetensors: ${head}: permission denied (EACCES)`);
    } finally {
      await chmod(head, 0o644);
    }
  });
});

describe('broken JSON names the file and the position', () => {
  it('adapter_config.json and trainer_state.json: line, column and position (also for a truncated file)', async () => {
    const out = await fresh('bad-json');
    const cfg = join(out, 'adapter_config.json');
    const text = await readFile(cfg, 'utf8');
    await writeFile(cfg, text.replace('"r": 4,', '"r": 4,,'));
    const line = text.slice(0, text.indexOf('"r": 4,')).split('\n').length;
    await expect(readPeftAdapter(out)).rejects.toThrow(new RegExp(`${cfg.replace(/[.]/g, '\\.')}: not valid JSON at line ${line}, column 10 \\(position \\d+\\)`));

    await writeFile(cfg, text);
    const state = join(out, 'trainer_state.json');
    const s = await readFile(state, 'utf8');
    const cut = s.indexOf(':') + 1; // before the first value: the parser runs out of input, and V8 gives no position
    await writeFile(state, s.slice(0, cut));
    const lines = s.slice(0, cut).split('\n');
    await expect(loadCheckpoint(out, { verify: 'none' })).rejects.toThrow(
      `${state}: not valid JSON at line ${lines.length}, column ${lines[lines.length - 1]!.length + 1} (position ${cut}): Unexpected end of JSON input`,
    );
  });
});
