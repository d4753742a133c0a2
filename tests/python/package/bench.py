#!/usr/bin/env python3
"""Benchmarks of the Python package against the reference package, in one run in the same
virtual environment (run by tests/python/package/run.sh; printed, never asserted):

1. reading the reference's zfp file: ``rw.open(p).latents`` (every array) against the
   reference's ``file_decoder(p)``; target at least 10x faster;
2. packing with zfp: ``rw.pack`` against ``file_encoder`` on the same latents and image, both
   with lossless zfp of float32 (the reference's default of float16 fails in zfpy, which has
   no float16); target at least 4x faster;
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
sys.path.insert(0, str(ROOT / "tests/scripts"))
from reference import HARDWARE  # noqa: E402 - the reference's writer refuses its own placeholder


@contextlib.contextmanager
def quiet():
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def paired_medians(reference, ours, runs):
    """Median seconds of each, timed in alternation (reference, ours, reference, ...) so that both
    see the same moments of a noisy machine, and the median of the per-pair ratios."""
    reference(), ours()  # warm: imports, caches, the probe
    pairs = []
    for _ in range(runs):
        started = time.perf_counter()
        reference()
        middle = time.perf_counter()
        ours()
        pairs.append((middle - started, time.perf_counter() - middle))
    return (
        statistics.median(p[0] for p in pairs),
        statistics.median(p[1] for p in pairs),
        statistics.median(p[0] / p[1] for p in pairs),
    )


def read_and_pack(folder, runs):
    from raiiaf import raiiafFileHandler

    rng = np.random.default_rng(2026)
    image = rw.open(ROOT / "assets/examples/aurora.raiiaf").image_bytes
    cases = {
        "SDXL 1x4x128x128": {"initial_noise": rng.standard_normal((1, 4, 128, 128), dtype=np.float32)},
        "SD3/Flux 1x16x128x128": {"initial_noise": rng.standard_normal((1, 16, 128, 128), dtype=np.float32)},
    }
    rows = []
    for name, latents in cases.items():
        values = sum(a.size for a in latents.values())
        theirs = folder / f"reference-{values}.raiiaf"
        ours = folder / f"ours-{values}.raiiaf"
        settings = {"seed": 1, "steps": 30, "sampler": "euler"}

        def reference_encode():
            with quiet():
                raiiafFileHandler().file_encoder(str(theirs), latents, [], "sd", "1.0", "a cat", [], image,
                                                 convert_float16=False, generation_settings=settings, hardware_info=HARDWARE)

        def our_pack():
            rw.pack(ours, image=image, latents=latents, model_name="sd", model_version="1.0", prompt="a cat",
                    settings=settings, codec="zfp", overwrite=True)

        def reference_decode():
            with quiet():
                return raiiafFileHandler().file_decoder(str(theirs))["chunks"]["latent"]

        def our_open():
            return list(rw.open(theirs).latents.values())

        encode = paired_medians(reference_encode, our_pack, runs)
        decode = paired_medians(reference_decode, our_open, runs)
        assert [a.tobytes() for a in our_open()] == [np.ascontiguousarray(a).tobytes() for a in reference_decode()]
        rows.append((name, decode, encode))
    print(f"read and pack, medians of {runs} alternating runs (lossless zfp, float32; both probe the environment)")
    print(f"{'latent':<22} {'file_decoder':>13} {'rw.open':>10} {'ratio':>7}   {'file_encoder':>13} {'rw.pack':>10} {'ratio':>7}")
    for name, (dr, do, dratio), (er, eo, eratio) in rows:
        print(f"{name:<22} {dr * 1e3:>10.2f} ms {do * 1e3:>7.2f} ms {dratio:>6.1f}x   {er * 1e3:>10.2f} ms {eo * 1e3:>7.2f} ms {eratio:>6.1f}x")
    read_ok = all(decode[2] >= 10 for _, decode, _ in rows)
    pack_ok = all(encode[2] >= 4 for _, _, encode in rows)
    print(f"targets: read at least 10x: {'met' if read_ok else 'NOT met'}; pack at least 4x: {'met' if pack_ok else 'NOT met'}")


# VmHWM, the process's peak resident size: unlike getrusage's ru_maxrss, exec resets it, so a
# child does not report its parent's peak.
MEMORY_SCRIPT = """
import sys
import numpy as np
import raiiaf_workbench as rw
def peak():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:"))
before = peak()
container = rw.open(sys.argv[1])
arrays = list(container.latents.values())
total = sum(a.nbytes for a in arrays)
assert np.isfinite(arrays[0][0, 0, 0, :8]).all()
print(before, peak(), total)
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
