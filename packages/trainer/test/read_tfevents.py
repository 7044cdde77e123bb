#!/usr/bin/env python3
"""Independent reader for TensorBoard event files, standard library only.

Written separately from the TypeScript writer (no shared code, no protobuf library):
checks every TFRecord length and data CRC-32C (bitwise, not table-driven) and decodes
the Event / Summary protobuf wire format by hand. Prints one JSON object per event.
Field numbers from tensorflow/core/util/event.proto and framework/summary.proto.
"""
import json
import struct
import sys


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def masked(data: bytes) -> int:
    c = crc32c(data)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def varint(buf: bytes, i: int):
    shift = result = 0
    while True:
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return result, i


def fields(buf: bytes):
    """Yields (field_number, wire_type, value) for a message."""
    i = 0
    while i < len(buf):
        key, i = varint(buf, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = varint(buf, i)
        elif wt == 1:
            v = buf[i:i + 8]
            i += 8
        elif wt == 2:
            n, i = varint(buf, i)
            v = buf[i:i + n]
            i += n
        elif wt == 5:
            v = buf[i:i + 4]
            i += 4
        else:
            raise ValueError(f"unsupported wire type {wt}")
        yield num, wt, v


def value(buf: bytes):
    out = {}
    for num, wt, v in fields(buf):
        if num == 1:
            out["tag"] = v.decode()
        elif num == 2:
            out["simple_value"] = struct.unpack("<f", v)[0]
        elif num == 4:
            img = {}
            for n2, _, v2 in fields(v):
                if n2 == 1: img["height"] = v2
                elif n2 == 2: img["width"] = v2
                elif n2 == 4: img["png_magic_ok"] = v2[:8] == b"\x89PNG\r\n\x1a\n"; img["bytes"] = len(v2)
            out["image"] = img
        elif num == 8:
            strings = [v2.decode() for n2, _, v2 in fields(v) if n2 == 8]
            dtype = [v2 for n2, _, v2 in fields(v) if n2 == 1]
            out["tensor"] = {"dtype": dtype[0] if dtype else 0, "string_val": strings}
        elif num == 9:
            for n2, _, v2 in fields(v):
                if n2 == 1:
                    for n3, _, v3 in fields(v2):
                        if n3 == 1: out["plugin"] = v3.decode()
    return out


def main(path: str):
    data = open(path, "rb").read()
    i = 0
    while i < len(data):
        header = data[i:i + 8]
        (length,) = struct.unpack("<Q", header)
        (len_crc,) = struct.unpack("<I", data[i + 8:i + 12])
        if masked(header) != len_crc:
            raise SystemExit(f"{path}@{i}: bad length crc")
        payload = data[i + 12:i + 12 + length]
        (data_crc,) = struct.unpack("<I", data[i + 12 + length:i + 16 + length])
        if len(payload) != length or masked(payload) != data_crc:
            raise SystemExit(f"{path}@{i}: bad data crc")
        i += 16 + length
        ev = {"step": 0}
        for num, wt, v in fields(payload):
            if num == 1: ev["wall_time"] = struct.unpack("<d", v)[0]
            elif num == 2: ev["step"] = v
            elif num == 3: ev["file_version"] = v.decode()
            elif num == 5: ev["values"] = [value(v2) for n2, _, v2 in fields(v) if n2 == 1]
        print(json.dumps(ev))


if __name__ == "__main__":
    main(sys.argv[1])
