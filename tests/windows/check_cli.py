#!/usr/bin/env python3
"""The Windows build's command line under Wine against the Linux build's, on the same files:

    check_cli.py LINUX_RAIIAF WINDOWS_RAIIAF_EXE STUB_DLL

Both run in the repository root with the same relative paths, so their outputs name files the
same way. Compared byte for byte (with the exit codes), for every fixture, example and
degenerate file: `info --json`, `verify`, `extract` (every file written); for pairs: `diff
--json`; for a folder: `verify --report` (JSON and CSV); for names with spaces and non-ASCII
letters: `info --json`; Ctrl-C (SIGINT, which Wine hands to the console control handler) during
`verify` writes its partial report and exits 130. `pack` is compared on what does not depend on the machine or the clock:
the latents' and the image's stored bytes and the manifest without its date, hardware and
environment. STUB_DLL, the test-only bcryptprimitives.dll that tests/windows/run.sh builds from
tests/windows/bcryptprimitives.c, sits next to the exe: Wine 8.0 lacks the DLL, which real Windows has.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WINE = shutil.which("wine64") or "/usr/lib/wine/wine64"


def run(command, cwd=ROOT):
    """(exit code, stdout, stderr). Output goes through files, not pipes: Wine's helper processes
    inherit the pipes and outlive the program, so reading a pipe to its end would wait for them."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        code = subprocess.run(command, cwd=cwd, stdout=out, stderr=err, timeout=600).returncode
        out.seek(0)
        err.seek(0)
        return code, out.read(), err.read()


def main(linux, exe, stub):
    failures = []
    work = Path(tempfile.mkdtemp(prefix="raiiaf-wine-"))
    windows = work / "bin"
    windows.mkdir()
    shutil.copy(exe, windows / "raiiaf.exe")
    shutil.copy(stub, windows / "bcryptprimitives.dll")
    os.environ.setdefault("WINEDEBUG", "-all")
    os.environ.setdefault("WINEPREFIX", str(ROOT / "target/wine-prefix"))
    # One Wine server for every run (each run would otherwise start and stop its own).
    subprocess.run(["wineserver", "-p"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def both(args, cwd=ROOT):
        return run([linux, *args], cwd), run([WINE, str(windows / "raiiaf.exe"), *args], cwd)

    def same(what, args, cwd=ROOT, streams=(0, 1)):
        native, wine = both(args, cwd)
        for index in streams:
            if native[index] != wine[index]:
                failures.append(f"{what}: {'exit code' if index == 0 else 'stdout'} differs:\n  linux {native[index]!r:.300}\n"
                                f"  wine  {wine[index]!r:.300}\n  wine stderr {wine[2]!r:.300}")
                return False
        return True

    files = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests/fixtures").glob("*.ra*") if p.suffix in (".raiiaf",))
    files += sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests/fixtures").glob("*.gen5"))
    files += sorted(str(p.relative_to(ROOT)) for p in (ROOT / "assets/examples").glob("*.raiiaf"))
    files += sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests/fixtures/degenerate").glob("*.raiiaf"))
    assert len(files) > 30, f"only {len(files)} files"
    # One verify over all of them: a line per file, in order, and the exit code of the worst.
    same("verify of every file", ["verify", *files])
    for path in files:
        same(f"info --json {path}", ["info", "--json", path])
        with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
            native = run([linux, "extract", "-o", a, path])
            wine = run([WINE, str(windows / "raiiaf.exe"), "extract", "-o", "Z:" + b.replace("/", "\\"), path])
            written = (sorted(p.name for p in Path(a).iterdir()), sorted(p.name for p in Path(b).iterdir()))
            if native[0] != wine[0] or written[0] != written[1] or any(
                    (Path(a) / n).read_bytes() != (Path(b) / n).read_bytes() for n in written[0]):
                failures.append(f"extract {path}: exit {native[0]}/{wine[0]}, files {written}")
    print(f"wine: info --json, verify and extract agree on {len(files)} files" if not failures else "", flush=True)
    before = len(failures)

    pairs = [("tests/fixtures/f32_raw.raiiaf", "tests/fixtures/f32_zfp.raiiaf"),
             ("assets/examples/aurora.raiiaf", "assets/examples/aurora-rerun.raiiaf"),
             ("tests/fixtures/f16_zfp.raiiaf", "tests/fixtures/gen5_raw_f16.gen5")]
    for a, b in pairs:
        same(f"diff --json {a} {b}", ["diff", "--json", a, b])

    # Names with spaces and non-ASCII letters, and a folder verified with reports.
    folder = work / "a folder"
    (folder / "Nächte 夜").mkdir(parents=True)
    shutil.copy(ROOT / "tests/fixtures/f32_zfp.raiiaf", folder / "Nächte 夜" / "aurore boréale.raiiaf")
    shutil.copy(ROOT / "tests/fixtures/gen5_zstd.gen5", folder / "run 2.gen5")
    data = (ROOT / "tests/fixtures/f32_raw.raiiaf").read_bytes()
    (folder / "cut.raiiaf").write_bytes(data[: len(data) // 2])
    same("info --json on a non-ASCII name", ["info", "--json", "Nächte 夜/aurore boréale.raiiaf"], cwd=folder)
    # Found in a folder, files are named with the system's separator: Windows paths on Windows,
    # the only difference allowed. `separator` is how a backslash appears in the output's text.
    for what, args, native_output, wine_output, separator in [
        ("verify -r on a folder with spaces", ["verify", "-r", "."], None, None, "\\"),
        ("verify -r --report JSON", ["verify", "-r", "--report", "../{}-report.json", "."], "native-report.json",
         "wine-report.json", "\\\\"),
        ("verify -r --report CSV", ["verify", "-r", "--report", "../{}-report.csv", "."], "native-report.csv",
         "wine-report.csv", "\\"),
    ]:
        native = run([linux, *[a.format("native") for a in args]], cwd=folder)
        wine = run([WINE, str(windows / "raiiaf.exe"), *[a.format("wine") for a in args]], cwd=folder)
        native_text = (work / native_output).read_text(encoding="utf-8") if native_output else native[1].decode()
        wine_text = (work / wine_output).read_text(encoding="utf-8") if wine_output else wine[1].decode()
        if native[0] != wine[0] or separator not in wine_text or native_text != wine_text.replace(separator, "/"):
            failures.append(f"{what}: exit {native[0]}/{wine[0]}\n  linux {native_text!r:.400}\n  wine  {wine_text!r:.400}")

    # pack: the same inputs on both, compared where neither the machine nor the clock enters.
    sys.path.insert(0, str(ROOT / "tests/web"))
    from check_page import npy_float32, png_with_parameters
    (work / "image.png").write_bytes(png_with_parameters(64, 48))
    (work / "noise.npy").write_bytes(npy_float32((1, 4, 8, 8), [((i * 7919) % 101) / 50 - 1 for i in range(256)])[0])
    common = ["--image", "image.png", "--latent", "initial_noise=noise.npy", "--model", "m", "--model-version", "1",
              "--prompt", "a lighthouse", "--settings", '{"seed": 1, "steps": 2, "sampler": "euler"}',
              "--hardware", '{"os": "test"}', "--python", "no-such-python"]
    for codec in ("raw", "zfp", "zfp-lossy:0.01", "auto"):
        native = run([linux, "pack", "-o", "native.raiiaf", "--codec", codec, "--force", *common], cwd=work)
        wine = run([WINE, str(windows / "raiiaf.exe"), "pack", "-o", "wine.raiiaf", "--codec", codec, "--force", *common],
                   cwd=work)
        infos = [json.loads(run([linux, "info", "--json", name], cwd=work)[1]) for name in ("native.raiiaf", "wine.raiiaf")]

        def stable(info):
            model = {k: v for k, v in info["manifest"]["raiiaf_metadata"]["model_info"].items() if k != "date"}
            return info["verdict"], info["latents"], info["image"], model
        if native[0] != wine[0] or stable(infos[0]) != stable(infos[1]):
            failures.append(f"pack --codec {codec}: exit {native[0]}/{wine[0]}; {stable(infos[0])!r:.300} vs "
                            f"{stable(infos[1])!r:.300}; wine stderr {wine[2]!r:.300}")
    print("wine: diff, folders with reports, names with spaces and non-ASCII letters, and pack (4 codecs) agree"
          if len(failures) == before else "", flush=True)

    # Ctrl-C: Wine turns SIGINT into a CTRL_C_EVENT for the console control handler. `verify`
    # stops, writes the report of the files checked so far, and exits 130.
    many = work / "many"
    many.mkdir()
    for i in range(5000):
        os.link(ROOT / "assets/examples/aurora.raiiaf", many / f"{i:04}.raiiaf")
    with open(work / "stop.out", "wb") as out, open(work / "stop.err", "wb") as err:
        process = subprocess.Popen([WINE, str(windows / "raiiaf.exe"), "verify", "--jobs", "1", "--report",
                                    "stopped.json", "many"], cwd=work, stdout=out, stderr=err)
        # Until it has checked some files (its lines reach the file), then Ctrl-C.
        for _ in range(600):
            if (work / "stop.out").stat().st_size > 2000 or process.poll() is not None:
                break
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=120)
    report = json.loads((work / "stopped.json").read_text(encoding="utf-8")) if (work / "stopped.json").exists() else {}
    summary = report.get("summary", {})
    lines = (work / "stop.out").read_bytes().count(b"\n")
    if code != 130 or summary.get("cancelled") is not True or not 0 < summary.get("checked", 0) < 5000 \
            or len(report.get("files", [])) != summary.get("checked") or lines != summary.get("checked"):
        failures.append(f"Ctrl-C during verify: exit {code}, summary {summary}, {lines} lines, "
                        f"stderr {(work / 'stop.err').read_bytes()!r:.300}")
    else:
        print(f"wine: Ctrl-C stopped verify after {summary['checked']} of 5000 files, exit 130, report written",
              flush=True)

    for failure in failures:
        print("FAIL", failure, file=sys.stderr)
    print(f"wine: {len(failures)} differences", flush=True)
    shutil.rmtree(work, ignore_errors=True)
    subprocess.run(["wineserver", "-k"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[3]))
