/** Python 3 round(): halves go to the even neighbour (banker's rounding), unlike Math.round. */
export function pyRound(x: number): number {
  const f = Math.floor(x);
  const diff = x - f;
  if (diff > 0.5) return f + 1;
  if (diff < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

// Port of transformers models/qwen2_vl/image_processing_qwen2_vl.py smart_resize (used by the fast processor too).
/**
 * Target (height, width) for an image: both multiples of `factor` (patch × merge = 32), the pixel count
 * within [minPixels, maxPixels], aspect ratio kept as closely as possible.
 */
export function smartResize(
  height: number,
  width: number,
  factor = 32,
  minPixels = 56 * 56,
  maxPixels = 28 * 28 * 1280,
): [number, number] {
  if (!(height > 0 && width > 0)) {
    throw new Error(`smartResize: image size must be positive, got ${height}x${width} (h x w)`);
  }
  if (Math.max(height, width) / Math.min(height, width) > 200) {
    throw new Error(
      `smartResize: absolute aspect ratio must be smaller than 200, got ${Math.max(height, width) / Math.min(height, width)} for ${height}x${width} (h x w)`,
    );
  }
  let hBar = pyRound(height / factor) * factor;
  let wBar = pyRound(width / factor) * factor;
  if (hBar * wBar > maxPixels) {
    const beta = Math.sqrt((height * width) / maxPixels);
    hBar = Math.max(factor, Math.floor(height / beta / factor) * factor);
    wBar = Math.max(factor, Math.floor(width / beta / factor) * factor);
  } else if (hBar * wBar < minPixels) {
    const beta = Math.sqrt(minPixels / (height * width));
    hBar = Math.ceil((height * beta) / factor) * factor;
    wBar = Math.ceil((width * beta) / factor) * factor;
  }
  return [hBar, wBar];
}
