// A private npm registry for tests and dry runs: Verdaccio (a devDependency of
// scripts/release) on 127.0.0.1, storage in a temp folder, @vlreward/* restricted to
// authenticated users like a company registry, no uplinks (third-party packages come from
// the consumer's default registry, @vlreward/* only from here).

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));

export interface RunningRegistry {
  /** e.g. http://127.0.0.1:41234/ (trailing slash) */
  readonly url: string;
  /** the npmrc auth key part: 127.0.0.1:41234 */
  readonly host: string;
  /** an auth token of a user created on start */
  readonly token: string;
  readonly dir: string;
  /** everything Verdaccio printed so far */
  log(): string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => res(port));
    });
  });
}

/** `//host/path/` auth key part of a registry URL, as npmrc wants it (without the leading //). */
export function registryHost(url: string): string {
  return url.replace(/^[a-z]+:\/\//i, '').replace(/\/+$/, '');
}

export async function startVerdaccio(o: { dir?: string; timeoutMs?: number } = {}): Promise<RunningRegistry> {
  const bin = join(HERE, '..', 'node_modules', '.bin', 'verdaccio');
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run pnpm install (verdaccio is a devDependency of scripts/release)`);
  const dir = o.dir ?? mkdtempSync(join(tmpdir(), 'vlreward-verdaccio-'));
  mkdirSync(join(dir, 'storage'), { recursive: true });
  const config = join(dir, 'config.yaml');
  writeFileSync(
    config,
    [
      `storage: ${JSON.stringify(join(dir, 'storage'))}`,
      `auth:`,
      `  htpasswd:`,
      `    file: ${JSON.stringify(join(dir, 'htpasswd'))}`,
      `    max_users: 10`,
      `uplinks: {}`,
      `packages:`,
      `  '@vlreward/*':`,
      `    access: $authenticated`,
      `    publish: $authenticated`,
      `  '**':`,
      `    access: $all`,
      `    publish: $authenticated`,
      `max_body_size: 200mb`,
      `log: { type: stdout, format: pretty, level: warn }`,
      '',
    ].join('\n'),
  );
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  let out = '';
  const child: ChildProcess = spawn(bin, ['--config', config, '--listen', `127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env } });
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  let exited: number | null = null;
  child.on('exit', (code) => (exited = code ?? -1));
  const stop = async () => {
    if (exited !== null) return;
    const done = new Promise<void>((res) => child.once('exit', () => res()));
    child.kill('SIGTERM');
    await Promise.race([done, new Promise((r) => setTimeout(r, 5000))]);
    if (exited === null) child.kill('SIGKILL');
  };
  const deadline = Date.now() + (o.timeoutMs ?? 60_000);
  for (;;) {
    if (exited !== null) throw new Error(`verdaccio exited with code ${exited} before listening on ${url}:\n${out}`);
    try {
      const r = await fetch(`${url}-/ping`);
      if (r.ok) break;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`verdaccio did not answer ${url}-/ping within ${o.timeoutMs ?? 60_000} ms:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  // Create a user; Verdaccio answers with a bearer token (what `npm adduser` would store).
  const user = `release-${process.pid}`;
  const r = await fetch(`${url}-/user/org.couchdb.user:${user}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: user, password: `pw-${Math.random().toString(36).slice(2)}`, type: 'user', roles: [] }),
  });
  const body = (await r.json()) as { token?: string; error?: string };
  if (!r.ok || !body.token) {
    await stop();
    throw new Error(`verdaccio: creating user ${user} failed (${r.status}): ${JSON.stringify(body)}`);
  }
  return { url, host: registryHost(url), token: body.token, dir, log: () => out, stop };
}
