# Regenerates the reader fixtures with numpy (run from this folder: python3 generate.py).
# Every file is small; expected.json records what each array must read back as (C order, exact values).
import json, zipfile
import numpy as np

out = {}

def values_of(a):
    flat = np.ascontiguousarray(a).reshape(-1)
    if a.dtype.kind in 'iu' and a.dtype.itemsize == 8:
        return [str(int(v)) for v in flat]          # int64/uint64 beyond 2^53 stay exact
    if a.dtype.kind == 'b':
        return [int(v) for v in flat]
    if a.dtype.kind == 'f':
        return [v if np.isfinite(v) else str(v) for v in flat.astype(np.float64).tolist()]
    return [int(v) for v in flat]

def record(name, a, dtype):
    out[name] = {'dtype': dtype, 'shape': list(a.shape), 'values': values_of(a)}

DTYPES = {
    'f2': 'float16', 'f4': 'float32', 'f8': 'float64',
    'i1': 'int8', 'i2': 'int16', 'i4': 'int32', 'i8': 'int64',
    'u1': 'uint8', 'u2': 'uint16', 'u4': 'uint32', 'u8': 'uint64', 'b1': 'bool',
}

def sample(code, shape=(2, 3, 4)):
    n = int(np.prod(shape))
    k = np.arange(n)
    if code == 'b1':
        return (k % 3 == 0).reshape(shape)
    if code[0] == 'f':
        a = ((k - 7) * 0.375).astype(np.float64)
        a[1] = -np.inf; a[2] = np.nan; a[3] = np.inf
        return a.reshape(shape).astype('<' + code)
    info = np.iinfo(np.dtype('<' + code))
    a = (k * 37 - 100).astype(np.int64) if code[0] == 'i' else (k * 37).astype(np.int64)
    a = np.clip(a, max(info.min, -2**62), min(info.max, 2**62)).astype('<' + code)
    a[-1] = info.max; a[0] = info.min
    if code == 'i8': a[1] = 2**62 + 1           # not representable as a double
    if code == 'u8': a[1] = 2**63 + 5
    return a.reshape(shape)

for code, dtype in DTYPES.items():
    base = sample(code)
    orders = ['<', '>'] if np.dtype(code).itemsize > 1 else ['|']
    for bo in orders:
        a = base.astype(np.dtype(code).newbyteorder(bo) if bo != '|' else code)
        for order in ['C', 'F']:
            arr = np.asfortranarray(a) if order == 'F' else np.ascontiguousarray(a)
            name = f'{dtype}_{"be" if bo == ">" else "le"}_{order}.npy'
            np.save(name, arr)
            assert np.load(name).flags['F_CONTIGUOUS'] == (order == 'F')
            record(name, base, dtype)

# 0-d, 1-d, empty and a Fortran 2-d array
for name, a, dtype in [
    ('scalar_f4.npy', np.array(3.5, dtype='<f4'), 'float32'),
    ('scalar_i8.npy', np.array(-7, dtype='<i8'), 'int64'),
    ('vector_i8.npy', np.array([0, 2, 1, 4], dtype='<i8'), 'int64'),
    ('empty_f4.npy', np.zeros((0, 3), dtype='<f4'), 'float32'),
]:
    np.save(name, a)
    record(name, a, dtype)

# Format versions 2.0 and 3.0 (numpy picks them only for huge or non-latin1 headers; force them here)
for version in [(2, 0), (3, 0)]:
    name = f'version{version[0]}_f4.npy'
    a = np.arange(6, dtype='<f4').reshape(2, 3)
    with open(name, 'wb') as f:
        np.lib.format.write_array(f, a, version=version)
    record(name, a, 'float32')

# .npz: stored and deflated, with a big-endian and a Fortran member
members = {
    'logits': np.linspace(-2, 2, 24, dtype='<f4').reshape(2, 3, 4),
    'target': np.array([[0, 2, 1], [1, 1, 0]], dtype='<i8'),
    'weight_be': np.array([0.5, 1.0, 2.0], dtype='>f4'),
    'fortran': np.asfortranarray(np.arange(12, dtype='<i4').reshape(3, 4)),
}
np.savez('stored.npz', **members)
np.savez_compressed('deflated.npz', **members)
for k, v in members.items():
    record(f'npz:{k}', v, {'f4': 'float32', 'i8': 'int64', 'i4': 'int32'}[v.dtype.str[1:]])

# zip64 end-of-central-directory and zip64 extra fields, as numpy writes for large archives: force them
# by lowering zipfile's limits so a small file exercises the same records.
zipfile.ZIP_FILECOUNT_LIMIT = 1
zipfile.ZIP64_LIMIT = 16
np.savez_compressed('zip64.npz', **members)

# safetensors, written by hand from the format spec (the safetensors package is not needed)
def safetensors(path, tensors, metadata=None):
    header, blobs, off = {}, [], 0
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {'dtype': dtype, 'shape': shape, 'data_offsets': [off, off + len(raw)]}
        blobs.append(raw); off += len(raw)
    if metadata: header['__metadata__'] = metadata
    h = json.dumps(header).encode()
    h += b' ' * ((8 - len(h) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(len(h).to_bytes(8, 'little')); f.write(h); f.write(b''.join(blobs))

f32 = np.array([[1.5, -2.25, 3.0], [0.0, -0.0, 1e-3]], dtype='<f4')
bf16 = (np.array([1.0, -2.5, 3.140625, 65280.0], dtype='<f4').view('<u4') >> 16).astype('<u2')
tensors = {
    'f32': ('F32', [2, 3], f32.tobytes()),
    'bf16': ('BF16', [4], bf16.tobytes()),
    'f16': ('F16', [2, 2], np.array([[0.5, -1.0], [65504.0, 6e-8]], dtype='<f2').tobytes()),
    'f64': ('F64', [2], np.array([1e300, -1e-300], dtype='<f8').tobytes()),
    'i8': ('I8', [3], np.array([-128, 0, 127], dtype='i1').tobytes()),
    'i16': ('I16', [2], np.array([-32768, 32767], dtype='<i2').tobytes()),
    'i32': ('I32', [2], np.array([-(2**31), 2**31 - 1], dtype='<i4').tobytes()),
    'i64': ('I64', [2], np.array([2**62 + 1, -(2**63)], dtype='<i8').tobytes()),
    'u8': ('U8', [2], np.array([0, 255], dtype='u1').tobytes()),
    'bool': ('BOOL', [3], np.array([True, False, True]).tobytes()),
    'scalar': ('F32', [], np.array(2.5, dtype='<f4').tobytes()),
}
safetensors('model.safetensors', tensors, {'format': 'pt', 'note': 'fixture'})
record('st:f32', f32, 'float32')
record('st:bf16', np.array([1.0, -2.5, 3.140625, 65280.0], dtype='<f4'), 'float32')
record('st:f16', np.array([[0.5, -1.0], [65504.0, 6e-8]], dtype='<f2'), 'float16')
record('st:f64', np.array([1e300, -1e-300]), 'float64')
record('st:i8', np.array([-128, 0, 127], dtype='i1'), 'int8')
record('st:i16', np.array([-32768, 32767], dtype='<i2'), 'int16')
record('st:i32', np.array([-(2**31), 2**31 - 1], dtype='<i4'), 'int32')
record('st:i64', np.array([2**62 + 1, -(2**63)], dtype='<i8'), 'int64')
record('st:u8', np.array([0, 255], dtype='u1'), 'uint8')
record('st:bool', np.array([True, False, True]), 'bool')
record('st:scalar', np.array(2.5, dtype='<f4'), 'float32')

with open('expected.json', 'w') as f:
    f.write('{\n' + ',\n'.join(f'{json.dumps(k)}: {json.dumps(v)}' for k, v in sorted(out.items())) + '\n}\n')
