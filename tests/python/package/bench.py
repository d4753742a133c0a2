#!/usr/bin/env python3
"""Benchmarks of the Python package against the reference package, in one run in the same
virtual environment (run by tests/python/package/run.sh; printed, never asserted):

1. reading the reference's zfp file: ``rw.open(p).latents`` (every array) against the
   reference's ``file_decoder(p)``; target at least 10x faster;
2. packing with zfp: ``rw.pack`` against ``file_encoder`` on the same latents and image, both
   with lossless zfp and float16 (the reference's defaults); target at least 4x faster;
3. memory: opening a 100,000,000-value float32 latent (1x4x5000x5000, 400 MB decoded) in a
   fresh interpreter; target a peak of at most 1.2x the decoded size.

Medians of repeated runs. ``--quick`` runs fewer repetitions (CI); the README quotes full runs.
"""

import argparse
import contextlib
import io
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

import raiiaf_workbench as rw

ROOT = Path(__file__).resolve().parents[3]


@contextlib.contextmanager
def quiet():
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def median_seconds(fn, runs):
    fn()  # warm: imports, caches, the probe
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def read_and_pack(folder, runs):
    from raiiaf import raiiafFileHandler

    rng = np.random.default_rng(2026)
    image = rw.open(ROOT / "assets/examples/aurora.raiiaf").image_bytes
    cases = {
        "SDXL 1x4x128x128": {"initial_noise": rng.standard_normal((1, 4, 128, 128), dtype=np.float32)},
        "video 1x16x21x60x104": {"initial_noise": rng.standard_normal((1, 16, 21, 60, 104), dtype=np.float32)},
    }
    rows = []
    for name, latents in cases.items():
        values = sum(a.size for a in latents.values())
        theirs = folder / f"reference-{values}.raiiaf"
        ours = folder / f"ours-{values}.raiiaf"
        settings = {"seed": 1, "steps": 30, "sampler": "euler"}

        def reference_encode():
            with quiet():
                raiiafFileHandler().file_encoder(str(theirs), latents, [], "sd", "1.0", "a cat", [], image, generation_settings=settings)

        def our_pack():
            rw.pack(ours, image=image, latents=latents, model_name="sd", model_version="1.0", prompt="a cat",
                    settings=settings, codec="zfp", float16=True, overwrite=True)

        def reference_decode():
            with quiet():
                return raiiafFileHandler().file_decoder(str(theirs))["chunks"]["latent"]

        def our_open():
            return list(rw.open(theirs).latents.values())

        encode_reference = median_seconds(reference_encode, runs)
        encode_ours = median_seconds(our_pack, runs)
        decode_reference = median_seconds(reference_decode, runs)
        decode_ours = median_seconds(our_open, runs)
        assert [a.tobytes() for a in our_open()] == [np.ascontiguousarray(a).tobytes() for a in reference_decode()]
        rows.append((name, values, decode_reference, decode_ours, encode_reference, encode_ours))
    print(f"read and pack, medians of {runs} runs (zfp lossless, float16 stored: the reference's defaults)")
    print(f"{'latent':<22} {'file_decoder':>13} {'rw.open':>10} {'ratio':>7}   {'file_encoder':>13} {'rw.pack':>10} {'ratio':>7}")
    for name, _, dr, do, er, eo in rows:
        print(f"{name:<22} {dr * 1e3:>10.2f} ms {do * 1e3:>7.2f} ms {dr / do:>6.1f}x   {er * 1e3:>10.2f} ms {eo * 1e3:>7.2f} ms {er / eo:>6.1f}x")
    read_ok = all(r[2] / r[3] >= 10 for r in rows)
    pack_ok = all(r[4] / r[5] >= 4 for r in rows)
    print(f"targets: read at least 10x: {'met' if read_ok else 'NOT met'}; pack at least 4x: {'met' if pack_ok else 'NOT met'}")


MEMORY_SCRIPT = """
import resource, sys
import numpy as np
import raiiaf_workbench as rw
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
container = rw.open(sys.argv[1])
arrays = list(container.latents.values())
total = sum(a.nbytes for a in arrays)
checksum = float(arrays[0][0, 0, 0, :8].astype(np.float64).sum())
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(before * 1024, peak * 1024, total)
"""


def memory(folder, runs):
    path = folder / "hundred-million.raiiaf"
    values = np.random.default_rng(1).standard_normal((1, 4, 5000, 5000), dtype=np.float32)
    image = rw.open(ROOT / "assets/examples/aurora.raiiaf").image_bytes
    rw.pack(path, image=image, latents={"initial_noise": values}, model_name="m", model_version="1", prompt="p",
            codec="raw", environment=None, overwrite=True)
    del values
    peaks = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", MEMORY_SCRIPT, str(path)], capture_output=True, text=True, check=True)
        before, peak, decoded = map(int, out.stdout.split())
        peaks.append((before, peak, decoded))
    before, peak, decoded = sorted(peaks, key=lambda p: p[1])[len(peaks) // 2]
    print(f"memory, median of {runs} fresh interpreters: 1x4x5000x5000 float32 ({decoded / 1e6:.0f} MB decoded, stored raw)")
    print(f"  peak RSS {peak / 1e6:.0f} MB = {peak / decoded:.2f}x the decoded size "
          f"(the interpreter with numpy and the module: {before / 1e6:.0f} MB before opening; "
          f"opening added {(peak - before) / 1e6:.0f} MB = {(peak - before) / decoded:.2f}x)")
    print(f"target: peak at most 1.2x the decoded size: {'met' if peak <= 1.2 * decoded else 'NOT met'}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (CI)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        read_and_pack(Path(folder), 5 if args.quick else 21)
        memory(Path(folder), 1 if args.quick else 3)


if __name__ == "__main__":
    main()
