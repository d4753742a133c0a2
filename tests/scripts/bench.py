#!/usr/bin/env python3
"""Speed and size comparison with the reference package, on the same files in the same run.

    .venv/bin/python tests/scripts/bench.py        (after tests/scripts/test.sh has made .venv)

Inputs: a 1024x1024 PNG and a 1x4x128x128 float32 Gaussian-noise latent. The reference writes
them with both of its codecs (zfp and raw, float32); this program packs the same inputs with
`--codec auto`. Reported (medians):
  1. whole process: `raiiaf info --json FILE` vs a Python process running the reference's
     file_decoder on FILE;
  2. in process: criterion's median for our inspect() (decode + every check) vs timeit of the
     reference's file_decoder, in BENCH_ROUNDS alternating rounds, median of the rounds;
  3. sizes: our auto output vs the reference's two outputs;
  4. packing, whole process: `raiiaf pack --codec zfp` vs a Python process running the
     reference's file_encoder with should_compress=True, on the same PNG and latent (both ask
     the same interpreter for the environment: ours runs it as its probe).
"""
import contextlib
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
import warnings

import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "python"))
os.environ["PYTHONPATH"] = os.path.join(ROOT, "tests", "python")
warnings.simplefilter("ignore")
from raiiaf.handlers.file_handler import raiiafFileHandler  # noqa: E402

RUNS = int(os.environ.get("BENCH_RUNS", "15"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))


def median_seconds(command, runs=RUNS):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def make_reference_files(work):
    """The reference's files of the benchmark (a 1x4x128x128 noise latent, zfp and raw, with a
    1024x1024 PNG) in `work`, and their inputs: returns ({name: path}, png, npy, settings, hardware)."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:1024, 0:1024] / 1024
    rgb = np.stack([np.sin(9 * x) * 0.5 + 0.5, y, np.cos(7 * x * y) * 0.5 + 0.5], -1)
    png = os.path.join(work, "image.png")
    Image.fromarray((rgb * 255).astype(np.uint8), "RGB").save(png)
    latent = rng.standard_normal((1, 4, 128, 128)).astype(np.float32)
    npy = os.path.join(work, "noise.npy")
    np.save(npy, latent)
    img_bytes = open(png, "rb").read()
    settings = {"seed": 1, "steps": 30, "sampler": "euler"}
    hardware = {"os": "Linux"}
    files = {}
    for name, compress in [("reference_zfp", True), ("reference_raw", False)]:
        path = os.path.join(work, name + ".raiiaf")
        with contextlib.redirect_stdout(io.StringIO()):
            raiiafFileHandler().file_encoder(path, {"initial_noise": latent}, [], "bench", "1", "p", [], img_bytes,
                                             should_compress=compress, convert_float16=False,
                                             generation_settings=settings, hardware_info=hardware)
        files[name] = path
    return files, png, npy, settings, hardware


def main():
    work = tempfile.mkdtemp(prefix="raiiaf-bench-")
    files, png, npy, settings, hardware = make_reference_files(work)
    binary = os.path.join(ROOT, "target", "release", "raiiaf")
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    ours = os.path.join(work, "ours_auto.raiiaf")
    subprocess.run([binary, "pack", "-o", ours, "--image", png, "--latent", f"initial_noise={npy}", "--model", "bench",
                    "--model-version", "1", "--prompt", "p", "--settings", json.dumps(settings),
                    "--hardware", json.dumps(hardware), "--codec", "auto", "--python", sys.executable],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    files["ours_auto"] = ours

    decode_script = ("import sys,warnings,contextlib,io;warnings.simplefilter('ignore');"
                     "from raiiaf.handlers.file_handler import raiiafFileHandler as H\n"
                     "with contextlib.redirect_stdout(io.StringIO()): H().file_decoder(sys.argv[1])")
    print(f"# {RUNS} runs each, medians; files in {work}")
    print("| file | bytes | `raiiaf info --json` process | reference decoder process | ratio | our inspect() in process | reference file_decoder in process | ratio |")
    print("|---|---|---|---|---|---|---|---|")
    # The machine is shared and its speed drifts over minutes, so the in-process figures are
    # taken in alternating rounds (ours, then the reference, on every file) and the medians of
    # the rounds are compared.
    bench_env = dict(os.environ, RAIIAF_BENCH_DIR=work)
    ours_rounds = {name: [] for name in files}
    ref_rounds = {name: [] for name in files}
    for _ in range(ROUNDS):
        subprocess.run(["cargo", "bench", "--quiet", "--bench", "decode", "--", "--noplot", "--warm-up-time", "1",
                        "--measurement-time", "3"], cwd=ROOT, env=bench_env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for name, path in files.items():
            estimates = os.path.join(ROOT, "target", "criterion", f"inspect_{name}", "new", "estimates.json")
            ours_rounds[name].append(json.load(open(estimates))["median"]["point_estimate"] / 1e9)
            handler = raiiafFileHandler()

            def decode():
                with contextlib.redirect_stdout(io.StringIO()):
                    handler.file_decoder(path)

            ref_rounds[name].append(statistics.median(timeit.repeat(decode, number=1, repeat=RUNS)))
    for name, path in files.items():
        ours_process = median_seconds([binary, "info", "--json", path])
        ref_process = median_seconds([sys.executable, "-c", decode_script, path])
        ours_inproc = statistics.median(ours_rounds[name])
        ref_inproc = statistics.median(ref_rounds[name])
        print(f"| {name} | {os.path.getsize(path)} | {ours_process * 1e3:.1f} ms | {ref_process * 1e3:.1f} ms | "
              f"{ref_process / ours_process:.1f}x | {ours_inproc * 1e3:.2f} ms | {ref_inproc * 1e3:.2f} ms | "
              f"{ref_inproc / ours_inproc:.1f}x |")
    print(f"\nin-process ratio per round (reference / ours): " + "; ".join(
        f"{name} " + ", ".join(f"{r / o:.2f}" for o, r in zip(ours_rounds[name], ref_rounds[name])) for name in files))
    pack_script = ("import sys,json,warnings,contextlib,io;import numpy as np;warnings.simplefilter('ignore');"
                   "from raiiaf.handlers.file_handler import raiiafFileHandler as H\n"
                   "latent=np.load(sys.argv[2]);image=open(sys.argv[3],'rb').read()\n"
                   "with contextlib.redirect_stdout(io.StringIO()):\n"
                   " H().file_encoder(sys.argv[1],{'initial_noise':latent},[],'bench','1','p',[],image,"
                   "should_compress=True,convert_float16=False,generation_settings=json.loads(sys.argv[4]),"
                   "hardware_info=json.loads(sys.argv[5]))")
    ours_pack = median_seconds([binary, "pack", "--force", "-o", os.path.join(work, "pack_ours.raiiaf"), "--image", png,
                                "--latent", f"initial_noise={npy}", "--model", "bench", "--model-version", "1",
                                "--prompt", "p", "--settings", json.dumps(settings), "--hardware",
                                json.dumps(hardware), "--codec", "zfp", "--python", sys.executable])
    ref_pack = median_seconds([sys.executable, "-c", pack_script, os.path.join(work, "pack_ref.raiiaf"), npy, png,
                               json.dumps(settings), json.dumps(hardware)])
    print(f"\npack, whole process: `raiiaf pack --codec zfp` {ours_pack * 1e3:.1f} ms; reference file_encoder "
          f"(should_compress=True) process {ref_pack * 1e3:.1f} ms; ratio {ref_pack / ours_pack:.1f}x")
    smaller = min(os.path.getsize(files["reference_zfp"]), os.path.getsize(files["reference_raw"]))
    print(f"\nauto output {os.path.getsize(ours)} bytes; smaller reference output {smaller} bytes; "
          f"auto <= smaller: {os.path.getsize(ours) <= smaller}")


if __name__ == "__main__":
    main()
