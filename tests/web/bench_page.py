#!/usr/bin/env python3
"""How long the web page takes to open a 1x4x128x128 zfp file written by the reference, against
the native build in process, on the same file in the same run (medians):

    .venv/bin/python tests/web/bench_page.py SITE_DIR

- in the page (headless Chromium): `raiiafInspectJson(bytes)`, which reads and checks the file
  and makes the `info --json` object, timed with performance.now(), RUNS times;
- natively: criterion's median of `inspect` (benches/decode.rs) on the same file.
Not part of CI: its figures are quoted in the README.
"""

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "scripts"))
import check_page  # noqa: E402
from bench import RUNS, ROOT, make_reference_files  # noqa: E402

TIME_INSPECT = """
const [url, runs, done] = [arguments[0], arguments[1], arguments[arguments.length - 1]];
fetch(url).then((r) => r.arrayBuffer()).then(async (buffer) => {
  await window.raiiafInspect(new Uint8Array(0));  // the module is loaded
  const { raiiafInspectJson } = await import("./raiiaf.js");
  const bytes = new Uint8Array(buffer);
  const times = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    const json = raiiafInspectJson(bytes, "bench");
    times.push(performance.now() - start);
    if (!json.includes('"verdict":"valid"')) return done({error: json.slice(0, 300)});
  }
  done({times});
}, (error) => done({error: String(error)}));
"""


def main(site):
    work = tempfile.mkdtemp(prefix="raiiaf-web-bench-")
    files, *_ = make_reference_files(work)
    os.remove(files["reference_raw"])
    zfp_file = Path(files["reference_zfp"])
    size = zfp_file.stat().st_size
    subprocess.run(["cargo", "bench", "--quiet", "--bench", "decode", "--", "--noplot"], cwd=ROOT,
                   env=dict(os.environ, RAIIAF_BENCH_DIR=work), check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    estimates = Path(ROOT) / "target/criterion/inspect_reference_zfp/new/estimates.json"
    native_ms = json.loads(estimates.read_text())["median"]["point_estimate"] / 1e6

    try:
        with check_page.page_server(site, {"bench.raiiaf": zfp_file}) as (_, page, driver):
            driver.go(page)
            result = driver.run(TIME_INSPECT, "bench.raiiaf", RUNS)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if "error" in result:
        print("page:", result["error"], file=sys.stderr)
        return 1
    page_ms = statistics.median(result["times"])
    print(f"1x4x128x128 zfp reference file ({size} bytes), medians of {RUNS}:")
    print(f"  page (Chromium, raiiafInspectJson): {page_ms:.2f} ms")
    print(f"  native in process (criterion, inspect): {native_ms:.2f} ms")
    print(f"  page / native: {page_ms / native_ms:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
