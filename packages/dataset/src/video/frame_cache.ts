import type { RgbImage } from '../image.js';

/** Least-recently-used cache of decoded frames, bounded by bytes held. */
export class FrameCache {
  private readonly map = new Map<string, RgbImage>();
  private bytes = 0;
  hits = 0;
  misses = 0;
  constructor(readonly maxBytes: number = 512 * 1024 * 1024) {}

  static key(file: string, frame: number): string {
    return `${frame}@${file}`;
  }

  get(key: string): RgbImage | undefined {
    const v = this.map.get(key);
    if (v) {
      this.map.delete(key);
      this.map.set(key, v);
      this.hits++;
    } else this.misses++;
    return v;
  }

  has(key: string): boolean {
    return this.map.has(key);
  }

  set(key: string, img: RgbImage): void {
    if (this.maxBytes <= 0) return;
    const old = this.map.get(key);
    if (old) {
      this.bytes -= old.data.byteLength;
      this.map.delete(key);
    }
    this.map.set(key, img);
    this.bytes += img.data.byteLength;
    while (this.bytes > this.maxBytes && this.map.size > 0) {
      const [k, v] = this.map.entries().next().value as [string, RgbImage];
      this.map.delete(k);
      this.bytes -= v.data.byteLength;
    }
  }

  get size(): number {
    return this.map.size;
  }

  /** Bytes of pixel data currently held. */
  get heldBytes(): number {
    return this.bytes;
  }

  clear(): void {
    this.map.clear();
    this.bytes = 0;
  }
}
