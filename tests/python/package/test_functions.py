"""verify, verify_many, params, diff, probe, view and the `raiiaf` command: the same results
as the program's command line."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

import raiiaf_workbench as rw
from conftest import FIXTURES, ROOT, run_raiiaf


def report_rows(binary, tmp_path, *paths):
    report = tmp_path / "report.json"
    run = run_raiiaf(binary, "verify", "--report", report, *paths)
    assert run.returncode in (0, 1, 2), run.stderr
    return json.loads(report.read_text())


def damaged_folder(tmp_path):
    folder = tmp_path / "files"
    folder.mkdir()
    for path in FIXTURES:
        (folder / path.name).write_bytes(path.read_bytes())
    data = bytearray(FIXTURES[0].read_bytes())
    data[len(data) // 2] ^= 0xFF
    (folder / "damaged.raiiaf").write_bytes(bytes(data))
    (folder / "truncated.raiiaf").write_bytes(bytes(data[:100]))
    return folder


def test_verify_and_verify_many_rows_are_raiiaf_verify_report_rows(raiiaf_bin, tmp_path):
    folder = damaged_folder(tmp_path)
    expected = report_rows(raiiaf_bin, tmp_path, folder)
    run = rw.verify_many(folder, workers=2)
    assert run.found == len(expected["files"])
    rows = list(run)
    assert rows == expected["files"]
    assert run.summary == expected["summary"]
    assert {r["verdict"] for r in rows} == {"valid", "invalid", "unreadable"}
    for row in rows:
        assert rw.verify(row["path"]) == row
    one = FIXTURES[0]
    assert rw.verify_bytes(str(one), one.read_bytes()) == rw.verify(str(one))


def copies(tmp_path, count):
    """A folder of `count` copies of one valid fixture."""
    folder = tmp_path / "many"
    folder.mkdir()
    data = FIXTURES[0].read_bytes()
    for i in range(count):
        (folder / f"{i:04}.raiiaf").write_bytes(data)
    return folder


def test_verify_many_stops_on_cancel_with_the_rows_so_far(tmp_path):
    # Enough files that the run cannot finish before cancel() however slow this process is: the
    # verifier holds at most 1024 rows ahead of the reader.
    run = rw.verify_many([copies(tmp_path, 3000)], workers=1)
    rows = [next(run) for _ in range(3)]
    run.cancel()
    rows += list(run)
    assert run.summary["cancelled"] is True
    assert run.summary["checked"] == len(rows) < 3000


def test_ctrl_c_stops_verify_many(tmp_path):
    folder = copies(tmp_path, 3000)
    script = (
        "import sys, raiiaf_workbench as rw\n"
        "run = rw.verify_many(sys.argv[1], workers=1)\n"
        "n = 0\n"
        "try:\n"
        "    for row in run:\n"
        "        n += 1\n"
        "        if n == 5: print('started', flush=True)\n"
        "except KeyboardInterrupt:\n"
        "    print('interrupted', n, flush=True)\n"
        "    sys.exit(3)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", script, str(folder)], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "started"
    child.send_signal(signal.SIGINT)
    out, _ = child.communicate(timeout=60)
    assert child.returncode == 3, out
    assert out.startswith("interrupted")
    assert int(out.split()[1]) < 3000


def test_params_is_raiiaf_params_json(raiiaf_bin, tmp_path):
    from PIL import Image, PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "a cat\nSteps: 20, Sampler: Euler, CFG scale: 7, Seed: 5, Model: m")
    image = tmp_path / "cat.png"
    Image.new("RGB", (8, 8)).save(image, pnginfo=info)
    for raw in (False, True):
        run = run_raiiaf(raiiaf_bin, "params", "--json", *(["--raw"] if raw else []), image)
        assert run.returncode == 0, run.stderr
        assert rw.params(str(image), raw=raw) == json.loads(run.stdout)
    missing = rw.params(str(tmp_path / "missing.png"))
    assert missing["error"] and missing["generator"] is None


def test_diff_is_raiiaf_diff_json(raiiaf_bin):
    a, b = ROOT / "assets/examples/aurora.raiiaf", ROOT / "assets/examples/aurora-rerun.raiiaf"
    for flags in ([], ["--all"]):
        run = run_raiiaf(raiiaf_bin, "diff", "--json", *flags, a, b)
        assert run.returncode == 1, run.stderr
        assert rw.diff(str(a), str(b), all=bool(flags)) == json.loads(run.stdout)
    same = rw.diff(a.read_bytes(), str(a))
    assert same["equivalent"] is True and same["a"]["path"] == "<a>"


def test_probe_is_this_interpreter():
    import platform

    found = rw.probe()
    components = {c["component_id"]: c for c in found["components"]}
    assert platform.python_version() in components["python"]["canonical"]
    assert found["hardware_info"]["os"]
    assert [c["component_id"] for c in found["environment"]["components"]][:1] != []


def test_the_console_command_is_the_program(raiiaf_bin):
    command = os.path.join(os.path.dirname(sys.executable), "raiiaf")
    path = FIXTURES[0]
    ours = subprocess.run([command, "info", "--json", str(path)], capture_output=True, text=True)
    theirs = run_raiiaf(raiiaf_bin, "info", "--json", path)
    assert ours.returncode == theirs.returncode == 0
    assert ours.stdout == theirs.stdout
    usage = subprocess.run([command, "frobnicate", "--bogus"], capture_output=True, text=True)
    assert usage.returncode == 64
    version = subprocess.run([sys.executable, "-m", "raiiaf_workbench", "--version"], capture_output=True, text=True)
    assert version.returncode == 0 and "raiiaf" in version.stdout


def test_view_starts_the_window_without_blocking(tmp_path):
    if not os.environ.get("DISPLAY"):
        pytest.skip("no display (tests/python/package/run.sh starts Xvfb)")
    shot = tmp_path / "window.png"
    started = time.monotonic()
    # view() returns at once; the screenshot flag makes the window draw once and exit.
    child = subprocess.Popen(
        [sys.executable, "-m", "raiiaf_workbench", "view", str(FIXTURES[0]), "--screenshot", str(shot)],
        env={**os.environ, "RAIIAF_NO_SINGLE_INSTANCE": "1"},
    )
    assert child.wait(timeout=120) == 0
    assert shot.stat().st_size > 10_000
    process = rw.view(FIXTURES[0])
    assert time.monotonic() - started < 120
    assert process.poll() is None, "view() returned while the window runs"
    process.terminate()
    process.wait(timeout=30)
