import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSafetensors, writeSafetensors } from '@vlreward/graph';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { fixtureCheckCommand } from '../src/commands/fixture.js';

import { FIXTURE_DIR as FIXTURE } from '../../test-utils/src/index.js';
const tmp = mkdtempSync(join(tmpdir(), 'vlr-cli-fixture-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe.runIf(existsSync(join(FIXTURE, 'outputs.safetensors')))('vlreward fixture check', () => {
  it('exits 0 on the shipped fixture and 1 when a golden tensor is perturbed', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      expect(await fixtureCheckCommand.run([FIXTURE, '--forward-only'])).toBe(0);
      const bad = join(tmp, 'bad');
      cpSync(FIXTURE, bad, { recursive: true });
      const { tensors, metadata } = await readSafetensors(join(FIXTURE, 'outputs.safetensors'));
      const logits = tensors.get('logits')!;
      const data = (logits.data as Float32Array).slice();
      data[0]! += 1e-3;
      tensors.set('logits', { ...logits, data });
      rmSync(join(bad, 'outputs.safetensors'));
      await writeSafetensors(join(bad, 'outputs.safetensors'), tensors, metadata);
      expect(await fixtureCheckCommand.run([bad, '--forward-only', '--json'])).toBe(1);
      const json = JSON.parse(String(log.mock.calls.at(-1)![0])) as { checks: { name: string; ok: boolean }[] };
      expect(json.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual(['logits']);
    } finally {
      log.mockRestore();
    }
  });

  it('rejects a missing folder', async () => {
    await expect(fixtureCheckCommand.run([join(tmp, 'nope')])).rejects.toThrow(/does not exist/);
  });
});
