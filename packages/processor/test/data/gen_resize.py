# Generates resize_pillow.safetensors: inputs and Pillow Image.resize(BICUBIC) outputs (uint8 HWC).
import json, struct, numpy as np, PIL
from PIL import Image
rng = np.random.default_rng(1234)
cases = [(37, 53, 64, 32), (100, 90, 160, 128), (61, 47, 32, 96), (150, 200, 64, 96), (30, 40, 96, 128), (120, 160, 120, 96)]
tensors = {}
for i, (h, w, oh, ow) in enumerate(cases):
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([xx * 255 / w, yy * 255 / h, ((xx * 3 + yy * 5) % 48) * 5], -1)
    img = np.clip(base + rng.integers(-70, 70, (h, w, 3)), 0, 255).astype(np.uint8)
    out = np.asarray(Image.fromarray(img).resize((ow, oh), Image.BICUBIC))
    tensors[f'in.{i}'] = img
    tensors[f'out.{i}'] = out
header = {}; off = 0; blobs = []
for k, v in tensors.items():
    b = np.ascontiguousarray(v).tobytes(); header[k] = {'dtype': 'U8', 'shape': list(v.shape), 'data_offsets': [off, off + len(b)]}; off += len(b); blobs.append(b)
header['__metadata__'] = {'generator': f'Pillow {PIL.__version__} Image.resize(BICUBIC), packages/processor/test/data/gen_resize.py', 'cases': json.dumps(cases)}
h = json.dumps(header).encode()
open('resize_pillow.safetensors', 'wb').write(struct.pack('<Q', len(h)) + h + b''.join(blobs))
print(PIL.__version__, off)
