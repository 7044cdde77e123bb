/** An 8-bit RGB image, rows top to bottom, pixels interleaved (HWC), as sharp's raw output. */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  readonly channels: 3;
  readonly data: Uint8Array;
}

/** A dense float32 tensor, row-major. Frames are [3,H,W], clips [T,3,H,W], values in [0,1]. */
export interface FloatTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** HWC uint8 → CHW float32 in [0,1] (LeRobot's `decode_video_frames` output convention). */
export function toChwFloat(img: RgbImage, out?: Float32Array, offset = 0): FloatTensor {
  const { width: w, height: h, data } = img;
  const plane = w * h;
  const dst = out ?? new Float32Array(3 * plane);
  for (let p = 0, s = 0; p < plane; p++, s += 3) {
    dst[offset + p] = data[s]! / 255;
    dst[offset + plane + p] = data[s + 1]! / 255;
    dst[offset + 2 * plane + p] = data[s + 2]! / 255;
  }
  return { shape: [3, h, w], data: dst };
}

/**
 * CHW float [0,1] → HWC uint8, as the seed's AlohaRewardDataset does with
 * `(t.permute(1,2,0) * 255).clamp(0,255).to(uint8)`-style code; we round instead of
 * truncating so a decoded uint8 frame survives the float round trip unchanged.
 */
export function fromChwFloat(t: FloatTensor, frame = 0): RgbImage {
  const n = t.shape.length;
  const c = t.shape[n - 3]!, h = t.shape[n - 2]!, w = t.shape[n - 1]!;
  if (c !== 3) throw new RangeError(`fromChwFloat: expected 3 channels, got shape [${t.shape.join(',')}]`);
  const plane = w * h;
  const base = frame * 3 * plane;
  const data = new Uint8Array(3 * plane);
  for (let p = 0, d = 0; p < plane; p++, d += 3) {
    for (let k = 0; k < 3; k++) {
      const v = Math.round(t.data[base + k * plane + p]! * 255);
      data[d + k] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
  return { width: w, height: h, channels: 3, data };
}

/** Mean of each channel (R, G, B) — handy for checks and analysis. */
export function channelMeans(img: RgbImage): [number, number, number] {
  const s = [0, 0, 0];
  const d = img.data;
  for (let i = 0; i < d.length; i += 3) {
    s[0]! += d[i]!;
    s[1]! += d[i + 1]!;
    s[2]! += d[i + 2]!;
  }
  const n = img.width * img.height;
  return [s[0]! / n, s[1]! / n, s[2]! / n];
}

/** Frames of a clip → one float tensor [T,3,H,W] in [0,1] (LeRobot's `delta_timestamps` video output). */
export function clipToTensor(frames: readonly RgbImage[]): FloatTensor {
  const first = frames[0];
  if (!first) throw new RangeError('clipToTensor: empty clip');
  const per = 3 * first.width * first.height;
  const data = new Float32Array(frames.length * per);
  frames.forEach((f, t) => {
    if (f.width !== first.width || f.height !== first.height) {
      throw new RangeError(`clipToTensor: frame ${t} is ${f.width}x${f.height}, frame 0 is ${first.width}x${first.height}`);
    }
    toChwFloat(f, data, t * per);
  });
  return { shape: [frames.length, 3, first.height, first.width], data };
}
