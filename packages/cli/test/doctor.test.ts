import { describe, expect, it } from 'vitest';
import { doctorReport } from '../src/commands/doctor.js';

describe('vlreward doctor', () => {
  it('runs a real session on the CPU provider and reports the others honestly', async () => {
    const r = await doctorReport();
    const cpu = r.providers.find((p) => p.name === 'cpu')!;
    expect(cpu.loads).toBe(true);
    expect(r.providers.map((p) => p.name)).toEqual(['cpu', 'cuda', 'webgpu']);
    for (const p of r.providers) if (!p.loads) expect(p.note.length).toBeGreaterThan(10);
    expect(r.cpu.cores).toBeGreaterThan(0);
    expect(r.onnxruntime).toBeTypeOf('object');
  });
});
