import { afterEach, describe, expect, it, vi } from 'vitest';
import { findCommand, main } from '../src/main.js';

describe('vlreward main', () => {
  afterEach(() => {
    delete process.env.MODE;
    vi.restoreAllMocks();
  });
  it('lists train, eval, predict, demo and doctor', () => {
    for (const c of ['train', 'eval', 'predict', 'demo', 'doctor']) expect(findCommand([c])?.command.name).toBe(c);
  });
  it('MODE picks the command (the seed style) and --help reaches it', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    process.env.MODE = 'train';
    expect(await main(['--help'])).toBe(0); // top-level help wins over MODE
    process.env.MODE = 'doctor';
    expect(await main(['--json'])).toBe(0);
    const out = JSON.parse(log.mock.calls.at(-1)![0] as string);
    expect(out.providers[0].name).toBe('cpu');
  });
  it('an unknown MODE is an error naming the variable', async () => {
    const err = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    process.env.MODE = 'serve';
    expect(await main([])).toBe(2);
    expect(err.mock.calls[0]![0]).toMatch(/MODE='serve' is not a command/);
  });
  it('bad flags exit 2 with the message', async () => {
    const err = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    expect(await main(['train', '--lr', 'fast'])).toBe(2);
    expect(err.mock.calls[0]![0]).toMatch(/vlreward train: --lr 'fast': expected a number/);
  });
});
