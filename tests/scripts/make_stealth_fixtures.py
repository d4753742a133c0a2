"""Writes tests/fixtures/params/stealth_*.png: images carrying generation parameters in their
pixels' low bits the way the stealth PNG info extension lays them out, made by an encoder written
apart from the Rust reader and from the encoder its unit tests use, so that one misreading of the
layout shared by both cannot pass unnoticed.

The layout: the signature's bytes, the payload's length in bits as 32 bits, then the payload
(gzip for the `comp` signatures); every byte most significant bit first. The bits replace the
lowest bit of alpha (`stealth_png*`) or of red, green and blue in turn (`stealth_rgb*`), pixel by
pixel down each column, the columns left to right.

Run from the repository root with an interpreter that has Pillow:
    python3 tests/scripts/make_stealth_fixtures.py
"""

import gzip
from pathlib import Path

from PIL import Image

TEXT = (
    "a lighthouse at dusk, film grain\n"
    "Negative prompt: fog\n"
    "Steps: 24, Sampler: Euler a, CFG scale: 6.5, Seed: 90210, Size: 48x40, "
    "Model hash: 0123abcd, Model: beacon_v2"
)
WIDTH, HEIGHT = 48, 40
OUT = Path("tests/fixtures/params")


def bits_of(data: bytes) -> str:
    return "".join(f"{byte:08b}" for byte in data)


def write(mode: str, compressed: bool) -> Path:
    payload = gzip.compress(TEXT.encode(), mtime=0) if compressed else TEXT.encode()
    signature = f"stealth_{'png' if mode == 'alpha' else 'rgb'}{'comp' if compressed else 'info'}"
    body = bits_of(payload)
    stream = bits_of(signature.encode()) + f"{len(body):032b}" + body
    image = Image.new("RGBA", (WIDTH, HEIGHT))
    pixels = image.load()
    # A picture whose low bits are not all zero before the data goes in.
    for x in range(WIDTH):
        for y in range(HEIGHT):
            pixels[x, y] = ((x * 5) % 256, (y * 6) % 256, (x * y) % 256, 255 - (x + y) % 3)
    channels = [3] if mode == "alpha" else [0, 1, 2]
    index = 0
    for x in range(WIDTH):
        for y in range(HEIGHT):
            pixel = list(pixels[x, y])
            for channel in channels:
                if index < len(stream):
                    pixel[channel] = (pixel[channel] & ~1) | int(stream[index])
                    index += 1
            pixels[x, y] = tuple(pixel)
    assert index == len(stream), "the picture is too small for the data"
    path = OUT / f"{signature}.png"
    image.save(path)
    return path


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    for mode, compressed in [("alpha", True), ("rgb", False)]:
        print(write(mode, compressed))
