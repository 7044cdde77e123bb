// `vlreward checkpoint inspect|verify|list|recover`: look into checkpoints,
// safetensors files and HF weight folders without loading a model.

import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  CheckpointManager,
  CorruptCheckpointError,
  MANIFEST_NAME,
  checkCheckpoint,
  loadCheckpoint,
  type CheckpointCheck,
  type VerifyLevel,
} from '@vlreward/checkpoint';
import { inspectSafetensors, openSafetensorsDir } from '@vlreward/graph/io';
import { UsageError, type Command } from '../command.js';

async function isFile(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}

function fmtBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

async function inspectTensors(path: string, json: boolean): Promise<number> {
  const h = await inspectSafetensors(path);
  const rows = h.entries.map((e) => ({ name: e.name, dtype: e.safetensorsDtype, shape: e.dims, bytes: e.byteLength }));
  if (json) console.log(JSON.stringify({ path, metadata: h.metadata, tensors: rows }, null, 2));
  else {
    console.log(`${path}: ${rows.length} tensors, ${fmtBytes(h.fileSize)}`);
    if (Object.keys(h.metadata).length) console.log(`metadata  ${JSON.stringify(h.metadata)}`);
    for (const r of rows) console.log(`  ${r.name}  ${r.dtype} [${r.shape.join(', ')}]`);
  }
  return 0;
}

/** What a check did, in words: never "ok" for a folder whose files were not compared with the manifest. */
function checkedWhat(level: VerifyLevel): string {
  if (level === 'none') {
    return 'NOT VERIFIED (--no-verify): files not checked against vlreward.json; only head and adapter scanned for NaN/Inf, full weights and optimizer not';
  }
  if (level === 'size') return 'sizes checked (not sha256), head and adapter scanned for NaN/Inf; full weights and optimizer not scanned';
  return 'verified: sha256 of every file, every tensor scanned for NaN/Inf';
}

function printProblems(target: string, check: CheckpointCheck, json: boolean): number {
  if (json) console.log(JSON.stringify({ dir: target, ok: false, verified: check.verified, problems: check.problems }, null, 2));
  else console.log(`${target}: PROBLEMS (${check.problems.length}):\n  - ${check.problems.join('\n  - ')}`);
  return 1;
}

/** A checkpoint folder: checked first (sha256 by default), then summarised; exit 1 with the problems when any. */
async function inspectCheckpoint(target: string, json: boolean, verify: VerifyLevel): Promise<number> {
  const check = await checkCheckpoint(target, { verify });
  if (check.problems.length > 0) return printProblems(target, check, json);
  let ck;
  try {
    ck = await loadCheckpoint(target, { verify: 'none', optimizer: false });
  } catch (e) {
    if (!(e instanceof CorruptCheckpointError)) throw e;
    return printProblems(target, { ...check, problems: e.problems }, json);
  }
  const m = ck.manifest;
  const summary = {
    dir: target,
    ok: verify !== 'none',
    verified: verify,
    checked: checkedWhat(verify),
    mode: m.mode,
    step: m.step,
    epoch: m.epoch,
    baseModel: m.baseModel,
    numClasses: m.numClasses,
    labels: m.labels,
    metrics: m.metrics,
    datasetFingerprint: m.datasetFingerprint,
    versions: m.versions,
    createdAt: m.createdAt,
    head: { weight: ck.head.weight.dims, dtype: ck.head.weight.dtype },
    adapter: ck.adapter
      ? {
          r: ck.adapter.config.r,
          lora_alpha: ck.adapter.config.lora_alpha,
          lora_dropout: ck.adapter.config.lora_dropout,
          target_modules: ck.adapter.config.target_modules,
          modules: ck.adapter.modules.size,
          parameters: [...ck.adapter.modules.values()].reduce((s, w) => s + w.A.data.length + w.B.data.length, 0),
        }
      : undefined,
    resume: ck.state ? { step: ck.state.trainer.step, epoch: ck.state.trainer.epoch } : undefined,
    files: m.files.map((f) => ({ path: f.path, bytes: f.bytes })),
  };
  if (json) {
    console.log(JSON.stringify(summary, null, 2));
    return 0;
  }
  console.log(`${target}: ${m.mode} checkpoint${m.step !== undefined ? `, step ${m.step}` : ''}${m.epoch !== undefined ? `, epoch ${m.epoch}` : ''}`);
  console.log(`${verify === 'none' ? 'check       ' : 'check       ok: '}${checkedWhat(verify)}`);
  if (m.baseModel) console.log(`base model  ${m.baseModel}`);
  console.log(`head        [${ck.head.weight.dims.join(', ')}] ${ck.head.weight.dtype}${m.labels ? `  labels ${JSON.stringify(m.labels)}` : ''}`);
  if (summary.adapter) {
    const a = summary.adapter;
    console.log(`adapter     r=${a.r} alpha=${a.lora_alpha} dropout=${a.lora_dropout} targets ${JSON.stringify(a.target_modules)}: ${a.modules} modules, ${a.parameters} params`);
  }
  if (Object.keys(m.metrics).length) console.log(`metrics     ${Object.entries(m.metrics).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  if (m.datasetFingerprint) console.log(`dataset     ${m.datasetFingerprint}`);
  console.log(`versions    ${Object.entries(m.versions).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  console.log('files');
  for (const f of m.files) console.log(`  ${f.path.padEnd(36)} ${fmtBytes(f.bytes)}`);
  return 0;
}

async function inspect(target: string, json: boolean, verify: VerifyLevel): Promise<number> {
  if (await isFile(target)) return inspectTensors(target, json);
  if (await isFile(join(target, MANIFEST_NAME))) return inspectCheckpoint(target, json, verify);
  if ((await isFile(join(target, 'model.safetensors'))) || (await isFile(join(target, 'model.safetensors.index.json')))) {
    const d = await openSafetensorsDir(target);
    try {
      const rows = d.names.map((n) => {
        const e = d.entry(n);
        return { name: n, dtype: e.safetensorsDtype, shape: e.dims, bytes: e.byteLength };
      });
      if (json) console.log(JSON.stringify({ dir: target, files: [...d.files.keys()], tensors: rows }, null, 2));
      else {
        const total = rows.reduce((s, r) => s + r.bytes, 0);
        console.log(`${target}: ${rows.length} tensors in ${d.files.size} file(s), ${fmtBytes(total)}`);
        for (const r of rows) console.log(`  ${r.name}  ${r.dtype} [${r.shape.join(', ')}]`);
      }
    } finally {
      await d.close();
    }
    return 0;
  }
  return list(target, json);
}

async function list(root: string, json: boolean): Promise<number> {
  const mgr = new CheckpointManager({ root });
  const entries = await mgr.list();
  const leftovers = await mgr.leftovers();
  if (entries.length === 0 && leftovers.length === 0) {
    throw new UsageError(`${root}: not a checkpoint (no ${MANIFEST_NAME}), safetensors file, weight folder or checkpoint root`);
  }
  if (json) {
    console.log(JSON.stringify({ root, checkpoints: entries.map(({ manifest, ...e }) => ({ ...e, metrics: manifest?.metrics })), leftovers }, null, 2));
  } else {
    for (const e of entries) {
      const metrics = e.manifest ? Object.entries(e.manifest.metrics).map(([k, v]) => `${k}=${v}`).join(' ') : '';
      console.log(`${e.name.padEnd(20)} ${e.problem ? `BROKEN: ${e.problem.split('\n')[0]}` : `${e.manifest!.mode} ${metrics}`}`);
    }
    for (const l of leftovers) console.log(`${l.path}  interrupted ${l.kind} of ${l.target} (pid ${l.pid} ${l.alive ? 'still running' : 'dead'})`);
  }
  return 0;
}

export const checkpointCommand: Command = {
  name: 'checkpoint',
  summary: 'inspect, verify, list or recover checkpoints (and inspect safetensors files / weight folders)',
  help: `usage: vlreward checkpoint <action> PATH [flags]

actions:
  inspect PATH   a checkpoint dir (manifest, head, adapter, metrics, files), a .safetensors
                 file or HF weight folder (tensor names, dtypes, shapes), or a checkpoint
                 root (same as list). A checkpoint dir is verified first, as verify does
                 (exit code 1 and the problems); --no-verify says plainly that it was not
  verify DIR     check every file of a checkpoint against vlreward.json (size + sha256),
                 scan every tensor for NaN/Inf (head, adapter, full weights, optimizer),
                 and report LoRA modules that are not Qwen3-VL text decoder projections;
                 exit code 1 and the list of problems when any
  list ROOT      the checkpoint-<step> dirs under ROOT with their metrics, and leftovers
                 of interrupted writes
  recover ROOT   remove leftovers of crashed writers under ROOT (and restore a checkpoint
                 whose replacement was interrupted)
flags:
  --json         JSON output
  --verify L     for inspect: sha256 | size | none (default sha256, as verify)
  --no-verify    for inspect: same as --verify none (the output says NOT VERIFIED)`,
  async run(argv) {
    let parsed;
    try {
      parsed = parseArgs({ args: argv, options: { json: { type: 'boolean' }, verify: { type: 'string' }, 'no-verify': { type: 'boolean' } }, strict: true, allowPositionals: true });
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    const { values, positionals } = parsed;
    const [action, target, ...rest] = positionals;
    if (!action || !target || rest.length) throw new UsageError('expected: checkpoint <inspect|verify|list|recover> PATH');
    const json = values.json ?? false;
    if (values['no-verify'] && values.verify !== undefined) throw new UsageError('give --verify L or --no-verify, not both');
    const level = (values['no-verify'] ? 'none' : (values.verify ?? 'sha256')) as VerifyLevel;
    if (!['sha256', 'size', 'none'].includes(level)) throw new UsageError(`--verify '${level}': expected sha256, size or none`);
    switch (action) {
      case 'inspect':
        return inspect(target, json, level);
      case 'verify': {
        const check = await checkCheckpoint(target, { verify: 'sha256' });
        if (check.problems.length > 0) return printProblems(target, check, json);
        const files = check.manifest!.files.length;
        console.log(
          json
            ? JSON.stringify({ dir: target, ok: true, files, scanned: check.scanned })
            : `${target}: ok (${files} files match ${MANIFEST_NAME}; no NaN/Inf in ${check.scanned.length} tensor file(s))`,
        );
        return 0;
      }
      case 'list':
        return list(target, json);
      case 'recover': {
        const r = await new CheckpointManager({ root: target }).recover();
        console.log(json ? JSON.stringify(r) : `removed ${r.removed.length} leftover(s)${r.removed.map((p) => `\n  ${p}`).join('')}\nrestored ${r.restored.length}${r.restored.map((p) => `\n  ${p}`).join('')}`);
        return 0;
      }
      default:
        throw new UsageError(`unknown action '${action}' (expected inspect, verify, list or recover)`);
    }
  },
};
