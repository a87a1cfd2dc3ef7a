#!/usr/bin/env python3
"""Compares two attn checkpoints field by field, bit for bit, independently of attn's reader.

  python3 ckpt_compare.py A.ckpt B.ckpt

Reads the layout of docs/checkpoints.md (header, FNV-1a checksum, payload) and compares every
field: model config, vocabularies, parameters (names, shapes, flags and the float bits), optimizer
tensors and scalars, schedule, counters, RNG state, training config and metadata. Metadata that
records when the file was written (`written_at`) is expected to differ and is ignored. Prints one
line per difference (the first parameter that differs with its count of differing values and
largest absolute difference), or `identical` and a field count. Exit 0 identical, 1 different,
2 a file that cannot be read (the message says why).
"""
import struct
import sys

IGNORED_METADATA = {"written_at"}


class Unreadable(Exception):
    pass


class Reader:
    def __init__(self, data, name):
        self.d, self.i, self.name = data, 0, name

    def take(self, n):
        if n > len(self.d) - self.i:
            raise Unreadable(f"{self.name}: payload ends early at byte {self.i} (wanted {n} more)")
        out = self.d[self.i:self.i + n]
        self.i += n
        return out

    def u8(self):
        return self.take(1)[0]

    def u32(self):
        return struct.unpack("<I", self.take(4))[0]

    def u64(self):
        return struct.unpack("<Q", self.take(8))[0]

    def i64(self):
        return struct.unpack("<q", self.take(8))[0]

    def f64_bits(self):
        return self.take(8)

    def string(self):
        return self.take(self.u64()).decode("utf-8", "surrogateescape")

    def matrix(self):
        r, c = self.u64(), self.u64()
        return (r, c), self.take(4 * r * c)

    def preamble(self):  # Boost's class preamble: tracking byte, class version u32
        return self.u8(), self.u32()

    def mapping(self, value):
        out = {}
        for _ in range(self.u64()):
            k = self.string()
            if k in out:
                raise Unreadable(f"{self.name}: duplicate key {k!r}")
            out[k] = value()
        return out


def fnv1a64(b):
    h = 14695981039346656037
    for x in b:
        h = ((h ^ x) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return h


def read_checkpoint(path):
    try:
        data = open(path, "rb").read()
    except OSError as e:
        raise Unreadable(f"{path}: {e.strerror}")
    if len(data) < 32 or data[:8] != b"ATTNCKPT":
        raise Unreadable(f"{path}: not an attn checkpoint")
    _, fmt, _, order, _, n, h = struct.unpack("<8sIHBBQQ", data[:32])
    if fmt != 1 or order != 0:
        raise Unreadable(f"{path}: format {fmt}, byte order {order}: this checker reads format 1, little-endian")
    if n != len(data) - 32:
        raise Unreadable(f"{path}: payload length {n} but {len(data) - 32} bytes follow the header")
    payload = data[32:]
    if fnv1a64(payload) != h:
        raise Unreadable(f"{path}: checksum mismatch")
    r = Reader(payload, path)
    c = {}
    c["class"] = r.preamble()
    c["model_config"] = r.mapping(r.string)
    c["vocabularies"] = r.mapping(r.string)
    params = []
    for k in range(r.u64()):
        preamble = r.preamble() if k == 0 else None
        name = r.string()
        shape, bits = r.matrix()
        params.append((name, shape, bits, r.u8(), r.u8(), preamble))
    c["params"] = params
    c["optimizer.tensors"] = r.mapping(r.matrix)
    c["optimizer.scalars"] = r.mapping(r.f64_bits)
    c["schedule"] = r.mapping(r.string)
    c["counters"] = r.mapping(r.i64)
    c["rng_state"] = r.string()
    c["train_config"] = r.mapping(r.string)
    c["metadata"] = r.mapping(r.string)
    if r.i != len(payload):
        raise Unreadable(f"{path}: {len(payload) - r.i} unread bytes after the metadata")
    return c


def float_diff(a, b):
    """(values that differ bitwise, largest |a - b| among them) of two float32 byte strings."""
    n = len(a) // 4
    fa, fb = struct.unpack(f"<{n}f", a), struct.unpack(f"<{n}f", b)
    ia, ib = struct.unpack(f"<{n}I", a), struct.unpack(f"<{n}I", b)
    diffs = [abs(x - y) for x, y, p, q in zip(fa, fb, ia, ib) if p != q]
    return len(diffs), max(diffs, default=0.0)


def compare(a, b):
    out = []
    for field in ("class", "model_config", "vocabularies", "schedule", "counters", "rng_state", "train_config"):
        if a[field] != b[field]:
            if isinstance(a[field], dict):
                keys = sorted(k for k in set(a[field]) | set(b[field]) if a[field].get(k) != b[field].get(k))
                shown = ", ".join(f"{k}: {a[field].get(k)!r} vs {b[field].get(k)!r}"[:120] for k in keys[:3])
                out.append(f"{field} differs ({len(keys)} keys): {shown}")
            else:
                out.append(f"{field} differs")
    ma = {k: v for k, v in a["metadata"].items() if k not in IGNORED_METADATA}
    mb = {k: v for k, v in b["metadata"].items() if k not in IGNORED_METADATA}
    if ma != mb:
        keys = sorted(k for k in set(ma) | set(mb) if ma.get(k) != mb.get(k))
        out.append("metadata differs: " + ", ".join(f"{k}: {ma.get(k)!r} vs {mb.get(k)!r}" for k in keys[:3]))

    pa, pb = a["params"], b["params"]
    if [(p[0], p[1]) for p in pa] != [(p[0], p[1]) for p in pb]:
        out.append("parameter names or shapes differ")
    else:
        differing = []
        for (name, shape, ba, ta, da, _), (_, _, bb, tb, db, _) in zip(pa, pb):
            if (ta, da) != (tb, db):
                out.append(f"parameter '{name}': trainable/decay flags differ")
            if ba != bb:
                differing.append((name, shape, *float_diff(ba, bb)))
        if differing:
            name, shape, n, m = differing[0]
            out.append(f"parameters differ: {len(differing)} of {len(pa)} tensors; first '{name}' "
                       f"{list(shape)}: {n} values, max |diff| {m:.3g}")

    ta, tb = a["optimizer.tensors"], b["optimizer.tensors"]
    if {k: v[0] for k, v in ta.items()} != {k: v[0] for k, v in tb.items()}:
        out.append("optimizer tensor names or shapes differ")
    else:
        keys = [k for k in ta if ta[k][1] != tb[k][1]]
        if keys:
            out.append(f"optimizer state differs: {len(keys)} of {len(ta)} tensors; first '{keys[0]}'")
    if a["optimizer.scalars"] != b["optimizer.scalars"]:
        out.append("optimizer scalars differ")
    return out


def main(argv):
    if len(argv) != 3:
        print("usage: ckpt_compare.py A.ckpt B.ckpt", file=sys.stderr)
        return 2
    try:
        a, b = read_checkpoint(argv[1]), read_checkpoint(argv[2])
    except Unreadable as e:
        print(f"ckpt_compare: {e}", file=sys.stderr)
        return 2
    diffs = compare(a, b)
    for d in diffs:
        print(d)
    if diffs:
        return 1
    values = sum(len(p[2]) // 4 for p in a["params"])
    print(f"identical: {len(a['params'])} parameter tensors ({values} values), "
          f"{len(a['optimizer.tensors'])} optimizer tensors, counters, rng, schedule, configs")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
