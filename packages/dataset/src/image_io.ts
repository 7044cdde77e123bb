import { writeFile } from 'node:fs/promises';
import sharp from 'sharp';
import type { RgbImage } from './image.js';

/** PNG bytes of an RGB image (sharp). */
export async function encodePng(img: RgbImage): Promise<Uint8Array> {
  const b = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } }).png().toBuffer();
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

export async function writePng(img: RgbImage, file: string): Promise<void> {
  await writeFile(file, await encodePng(img));
}

/** Decodes PNG/JPEG/WebP bytes or a file to an RGB image (alpha dropped). */
export async function readImage(input: string | Uint8Array): Promise<RgbImage> {
  const { data, info } = await sharp(input).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, channels: 3, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}
