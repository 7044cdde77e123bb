import { DatasetError } from '../errors.js';

/**
 * Python `str.format` subset used by LeRobot path templates:
 * `{name}` and `{name:0Nd}` (e.g. `data/chunk-{episode_chunk:03d}/episode_{episode_index:06d}.parquet`).
 */
export function formatTemplate(
  template: string,
  vars: Readonly<Record<string, string | number>>,
  where: { file: string; field: string },
): string {
  return template.replace(/\{([A-Za-z_][A-Za-z0-9_]*)(?::(0?)(\d*)d)?\}/g, (_m, name: string, zero: string, width: string) => {
    const v = vars[name];
    if (v === undefined) {
      throw new DatasetError(`template '${template}' uses {${name}}, which is not one of ${Object.keys(vars).join(', ')}`, where);
    }
    if (width) {
      const s = String(v);
      return s.padStart(Number(width), zero ? '0' : ' ');
    }
    return String(v);
  });
}
