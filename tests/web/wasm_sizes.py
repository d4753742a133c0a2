#!/usr/bin/env python3
"""Which crates the page's WebAssembly is made of: the code bytes of each function, summed by
the crate its (mangled) name starts with, from the module's name section.

    python3 tests/web/wasm_sizes.py target/wasm32-unknown-unknown/release/raiiaf.wasm
"""

import collections
import re
import sys


def leb128(data, at):
    value = shift = 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, at


def sections(data):
    at = 8
    while at < len(data):
        kind = data[at]
        size, at = leb128(data, at + 1)
        yield kind, data[at:at + size]
        at += size


def crate_of(name):
    # Legacy mangling: _ZN <len><ident> ...; v0 mangling and C names are grouped by their look.
    # An impl's path starts with `_$LT$TYPE as TRAIT$GT$`: the type's crate is the one named.
    impl = re.match(r"_ZN\d+_\$LT\$(?:\$RF\$|\$u5b\$|mut\$u20\$|dyn\$u20\$)*([A-Za-z_][A-Za-z0-9_]*)", name)
    if impl:
        return impl.group(1)
    match = re.match(r"_ZN(\d+)([A-Za-z_][A-Za-z0-9_]*)", name)
    if match:
        length = int(match.group(1))
        return match.group(2)[:length].lstrip("_")
    if name.startswith("_R"):
        return "(v0-mangled)"
    return "(other: " + (name.split("::")[0] if "::" in name else "C and glue") + ")"


def main(path):
    data = open(path, "rb").read()
    imported = 0
    bodies, names = [], {}
    for kind, body in sections(data):
        if kind == 2:  # imports: functions among them take the first indices
            count, at = leb128(body, 0)
            for _ in range(count):
                for _ in range(2):
                    length, at = leb128(body, at)
                    at += length
                desc = body[at]
                at += 1
                if desc == 0:
                    imported += 1
                    _, at = leb128(body, at)
                elif desc == 1:
                    at += 1
                    flags, at = leb128(body, at)
                    _, at = leb128(body, at)
                    if flags & 1:
                        _, at = leb128(body, at)
                elif desc == 2:
                    flags, at = leb128(body, at)
                    _, at = leb128(body, at)
                    if flags & 1:
                        _, at = leb128(body, at)
                else:
                    at += 2
        elif kind == 10:
            count, at = leb128(body, 0)
            for _ in range(count):
                size, at = leb128(body, at)
                bodies.append(size)
                at += size
        elif kind == 0:
            length, at = leb128(body, 0)
            if body[at:at + length] != b"name":
                continue
            at += length
            while at < len(body):
                sub, at = leb128(body, at)
                size, at = leb128(body, at)
                end = at + size
                if sub == 1:
                    count, at = leb128(body, at)
                    for _ in range(count):
                        index, at = leb128(body, at)
                        length, at = leb128(body, at)
                        names[index] = body[at:at + length].decode(errors="replace")
                        at += length
                at = end
    by_crate = collections.Counter()
    for i, size in enumerate(bodies):
        by_crate[crate_of(names.get(imported + i, ""))] += size
    total = sum(bodies)
    data_bytes = sum(len(body) for kind, body in sections(data) if kind == 11)
    print(f"{path}: {len(data)} bytes; code {total} bytes in {len(bodies)} functions; data {data_bytes} bytes "
          "(fonts, tables, strings)")
    for crate, size in by_crate.most_common(15):
        print(f"  {size / 1e6:6.2f} MB  {100 * size / total:4.1f}%  {crate}")


if __name__ == "__main__":
    main(sys.argv[1])
