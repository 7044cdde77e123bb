// Plots as SVG (written by hand: a chart library would be most of a browser) and
// rasterised to PNG with sharp (librsvg). Used for the per-frame reward curve of
// `predict` and the confusion-matrix image logged at the end of training.

import sharp from 'sharp';

export interface CurvePoint {
  readonly frame: number;
  /** expected reward in [0, 1] (Σ p_c · c / (C-1)). */
  readonly expected: number;
  readonly predicted: number;
  /** ground-truth bin when the dataset has one. */
  readonly label?: number;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Per-frame reward curve: expected reward (line), predicted bin and true bin (steps), scaled to [0, 1]. */
export function rewardCurveSvg(points: readonly CurvePoint[], o: { numClasses: number; title?: string; width?: number; height?: number }): string {
  const W = o.width ?? 900;
  const H = o.height ?? 360;
  const m = { l: 56, r: 150, t: 36, b: 44 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const f0 = points.length > 0 ? points[0]!.frame : 0;
  const f1 = points.length > 0 ? points[points.length - 1]!.frame : 1;
  const x = (f: number) => m.l + (f1 === f0 ? pw / 2 : ((f - f0) / (f1 - f0)) * pw);
  const y = (v: number) => m.t + (1 - v) * ph;
  const top = Math.max(1, o.numClasses - 1);
  const path = (vals: (p: CurvePoint) => number | undefined, step: boolean) => {
    let d = '';
    let prev: number | undefined;
    for (const p of points) {
      const v = vals(p);
      if (v === undefined) continue;
      if (d === '') d = `M${x(p.frame).toFixed(1)},${y(v).toFixed(1)}`;
      else if (step && prev !== undefined) d += ` H${x(p.frame).toFixed(1)} V${y(v).toFixed(1)}`;
      else d += ` L${x(p.frame).toFixed(1)},${y(v).toFixed(1)}`;
      prev = v;
    }
    return d;
  };
  const grid: string[] = [];
  for (let c = 0; c <= top; c++) {
    const v = c / top;
    grid.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`);
    grid.push(`<text x="${m.l - 8}" y="${y(v) + 4}" text-anchor="end" font-size="11">${v.toFixed(2)}</text>`);
  }
  const ticks = 6;
  for (let i = 0; i <= ticks; i++) {
    const f = Math.round(f0 + ((f1 - f0) * i) / ticks);
    grid.push(`<text x="${x(f)}" y="${m.t + ph + 18}" text-anchor="middle" font-size="11">${f}</text>`);
  }
  const hasLabels = points.some((p) => p.label !== undefined);
  const legend = [
    ['#1f77b4', 'expected reward', ''],
    ['#ff7f0e', 'predicted bin', ''],
    ...(hasLabels ? [['#2ca02c', 'true bin', '4,3']] : []),
  ]
    .map(([color, name, dash], i) => `<line x1="${W - m.r + 14}" x2="${W - m.r + 38}" y1="${m.t + 10 + i * 18}" y2="${m.t + 10 + i * 18}" stroke="${color}" stroke-width="2.5" stroke-dasharray="${dash}"/><text x="${W - m.r + 44}" y="${m.t + 14 + i * 18}" font-size="12">${name}</text>`)
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="DejaVu Sans, sans-serif">
<rect width="100%" height="100%" fill="white"/>
<text x="${m.l}" y="22" font-size="14" font-weight="bold">${esc(o.title ?? 'reward per frame')}</text>
${grid.join('\n')}
<rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}" fill="none" stroke="#444"/>
<text x="${m.l + pw / 2}" y="${H - 8}" text-anchor="middle" font-size="12">frame</text>
<text transform="translate(14 ${m.t + ph / 2}) rotate(-90)" text-anchor="middle" font-size="12">reward (bin / ${top})</text>
${hasLabels ? `<path d="${path((p) => (p.label === undefined ? undefined : p.label / top), true)}" fill="none" stroke="#2ca02c" stroke-width="2" stroke-dasharray="4,3"/>` : ''}
<path d="${path((p) => p.predicted / top, true)}" fill="none" stroke="#ff7f0e" stroke-width="1.5"/>
<path d="${path((p) => p.expected, false)}" fill="none" stroke="#1f77b4" stroke-width="2.5"/>
${legend}
</svg>`;
}

/** Confusion matrix heat map (rows: true bin, columns: predicted bin). */
export function confusionSvg(confusion: readonly (readonly number[])[], title = 'confusion matrix'): string {
  const n = confusion.length;
  const cell = Math.max(28, Math.min(64, Math.floor(400 / Math.max(1, n))));
  const m = { l: 70, t: 56 };
  const W = m.l + n * cell + 20;
  const H = m.t + n * cell + 40;
  const max = Math.max(1, ...confusion.flat());
  const cells: string[] = [];
  confusion.forEach((row, t) =>
    row.forEach((v, p) => {
      const a = v / max;
      const fill = `rgb(${Math.round(255 - 224 * a)},${Math.round(255 - 136 * a)},${Math.round(255 - 75 * a)})`;
      const cx = m.l + p * cell;
      const cy = m.t + t * cell;
      cells.push(`<rect x="${cx}" y="${cy}" width="${cell}" height="${cell}" fill="${fill}" stroke="#888"/>`);
      cells.push(`<text x="${cx + cell / 2}" y="${cy + cell / 2 + 4}" text-anchor="middle" font-size="12" fill="${a > 0.6 ? 'white' : 'black'}">${v}</text>`);
    }),
  );
  const labels: string[] = [];
  for (let i = 0; i < n; i++) {
    labels.push(`<text x="${m.l + i * cell + cell / 2}" y="${m.t - 6}" text-anchor="middle" font-size="11">${i}</text>`);
    labels.push(`<text x="${m.l - 6}" y="${m.t + i * cell + cell / 2 + 4}" text-anchor="end" font-size="11">${i}</text>`);
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="DejaVu Sans, sans-serif">
<rect width="100%" height="100%" fill="white"/>
<text x="8" y="18" font-size="13" font-weight="bold">${esc(title)}</text>
<text x="${m.l + (n * cell) / 2}" y="${m.t - 22}" text-anchor="middle" font-size="11">predicted</text>
<text transform="translate(16 ${m.t + (n * cell) / 2}) rotate(-90)" text-anchor="middle" font-size="11">true</text>
${labels.join('\n')}
${cells.join('\n')}
</svg>`;
}

/** Rasterises an SVG to PNG bytes and reports the size. */
export async function svgToPng(svg: string): Promise<{ png: Uint8Array; width: number; height: number }> {
  const { data, info } = await sharp(Buffer.from(svg)).png().toBuffer({ resolveWithObject: true });
  return { png: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height };
}
