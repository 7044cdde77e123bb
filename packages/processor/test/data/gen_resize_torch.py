# Adds torch-kernel reference outputs ("torch.{i}") to resize_pillow.safetensors: a direct Python
# transcription of torch's uint8 antialiased bicubic (aten/src/ATen/native/cpu/UpSampleKernel.cpp:
# HelperInterpBase::_compute_indices_min_size_weights_aa, _compute_index_ranges_int16_weights,
# HelperInterpCubic::aa_filter; separable horizontal-then-vertical with uint8 intermediate), written
# independently of the TypeScript port (numpy for the passes). torch >= 2.1 itself is not installable here.
import json, math, struct, numpy as np

def aa_filter(x):
    A = -0.5
    x = abs(x)
    if x < 1.0: return ((A + 2) * x - (A + 3)) * x * x + 1
    if x < 2.0: return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A
    return 0.0

def weights(in_size, out_size):
    scale = in_size / out_size
    support = 2.0 * scale if scale >= 1.0 else 2.0
    max_interp = int(math.ceil(support)) * 2 + 1
    invscale = 1.0 / scale if scale >= 1.0 else 1.0
    rows, wt_max = [], 0.0
    for i in range(out_size):
        center = scale * (i + 0.5)
        xmin = max(int(center - support + 0.5), 0)
        xsize = min(int(center + support + 0.5), in_size) - xmin
        xsize = min(max(xsize, 0), max_interp)
        w = [aa_filter((j + xmin - center + 0.5) * invscale) for j in range(xsize)]
        total = sum(w)  # same left-to-right summation order as the C++ loop
        if total != 0.0:
            w = [v / total for v in w]
            wt_max = max([wt_max] + w)
        rows.append((xmin, w))
    prec = 0
    while prec < 22:
        if int(0.5 + wt_max * (1 << (prec + 1))) >= (1 << 15): break
        prec += 1
    q = lambda v: int(-0.5 + v) if v < 0 else int(0.5 + v)
    return [(xmin, [q(v * (1 << prec)) for v in w]) for xmin, w in rows], prec

def resize_1d(a, out_size, axis):
    a = np.moveaxis(a.astype(np.int64), axis, 0)
    rows, prec = weights(a.shape[0], out_size)
    out = np.empty((out_size,) + a.shape[1:], dtype=np.int64)
    for i, (xmin, k) in enumerate(rows):
        acc = np.full(a.shape[1:], 1 << (prec - 1), dtype=np.int64)
        for j, kj in enumerate(k): acc += a[xmin + j] * kj
        out[i] = np.clip(acc >> prec, 0, 255)
    return np.moveaxis(out, 0, axis).astype(np.uint8)

def torch_resize(img, oh, ow):
    h, w, _ = img.shape
    if ow != w: img = resize_1d(img, ow, 1)
    if oh != h: img = resize_1d(img, oh, 0)
    return img

path = 'resize_pillow.safetensors'
b = open(path, 'rb').read(); n = struct.unpack('<Q', b[:8])[0]; header = json.loads(b[8:8 + n]); body = b[8 + n:]
meta = header.pop('__metadata__')
tensors = {k: np.frombuffer(body[v['data_offsets'][0]:v['data_offsets'][1]], np.uint8).reshape(v['shape']) for k, v in header.items() if not k.startswith('torch.')}
cases = json.loads(meta['cases'])
for i, (h, w, oh, ow) in enumerate(cases):
    tensors[f'torch.{i}'] = torch_resize(tensors[f'in.{i}'], oh, ow)
    d = np.abs(tensors[f'torch.{i}'].astype(int) - tensors[f'out.{i}'].astype(int))
    print(i, 'torch vs pillow max', d.max(), 'count', (d > 0).sum(), 'of', d.size)
meta['torch'] = 'torch.{i}: gen_resize_torch.py (transcription of torch uint8 antialiased bicubic)'
hdr = {}; off = 0; blobs = []
for k, v in tensors.items():
    raw = np.ascontiguousarray(v).tobytes(); hdr[k] = {'dtype': 'U8', 'shape': list(v.shape), 'data_offsets': [off, off + len(raw)]}; off += len(raw); blobs.append(raw)
hdr['__metadata__'] = meta
hb = json.dumps(hdr).encode()
open(path, 'wb').write(struct.pack('<Q', len(hb)) + hb + b''.join(blobs))
