#!/usr/bin/env bash
# Whole-folder verification benchmark: `raiiaf verify DIR --recursive --report OUT.json` on a
# corpus of many ~100 KB files, against the reference Python package's decoder on the same files.
#
#     bash tests/scripts/bench_folder.sh        (after tests/scripts/test.sh has made .venv)
#
# What it does:
#   1. builds target/release/raiiaf (cargo build --release);
#   2. packs DISTINCT (20) files with `raiiaf pack --codec raw`, each from its own 128x128 RGB
#      noise PNG and 1x4x64x64 float32 Gaussian latent (different seeds, four model names, seeds in
#      generation_settings), made with .venv/bin/python (numpy, PIL);
#   3. copies them to BENCH_FILES (10000) container files, 100 per folder in a two-level tree
#      (dNN/eNN/), with a few damaged ones among them (truncated, one latent byte flipped, random
#      bytes named .raiiaf) and some .txt files that must be ignored;
#   4. runs `/usr/bin/time -v target/release/raiiaf verify DIR --recursive --report OUT.json`
#      BENCH_RUNS (3) times and prints the median wall time, files/s and the peak RSS (the largest
#      of the runs), plus the report's summary;
#   5. runs the reference package's file_decoder (raiiaf 1.1.0, PYTHONPATH=tests/python for the
#      torch stand-in) in one Python process over the first REF_FILES (default: all) files in
#      path order and prints its files/s and peak RSS; our verify is timed on the same files,
#      named one by one, for a like-for-like figure. The reference only decodes (it checks no
#      hashes, so a flipped latent byte passes) and uses one core.
#
# The corpus is freshly written, so every run reads it from the page cache (warm). It lives in a
# temporary folder removed at the end unless KEEP=1. Targets: 10,000 files in under 20 s and a
# peak RSS under 200 MB on a 2-core machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

FILES=${BENCH_FILES:-10000}
RUNS=${BENCH_RUNS:-3}
DISTINCT=${BENCH_DISTINCT:-20}
REF_FILES=${REF_FILES:-$FILES}
python=$root/.venv/bin/python
[ -x "$python" ] || { echo "bench_folder.sh: $python is missing; run tests/scripts/test.sh first" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench_folder.sh: /usr/bin/time (GNU time) is needed" >&2; exit 1; }

cargo build --release --quiet
binary=$root/target/release/raiiaf

work=$(mktemp -d "${TMPDIR:-/tmp}/raiiaf-bench-folder-XXXXXX")
if [ "${KEEP:-0}" != 1 ]; then trap 'rm -rf "$work"' EXIT; fi
mkdir -p "$work/inputs" "$work/distinct"

echo "# corpus: $FILES files in $work/corpus (cpu cores: $(nproc))"
"$python" - "$work/inputs" "$DISTINCT" <<'PY'
import sys
import numpy as np
from PIL import Image
out, count = sys.argv[1], int(sys.argv[2])
for i in range(count):
    rng = np.random.default_rng(1000 + i)
    Image.fromarray(rng.integers(0, 256, size=(128, 128, 3), dtype=np.uint8), "RGB").save(f"{out}/image_{i:02d}.png")
    np.save(f"{out}/latent_{i:02d}.npy", rng.standard_normal((1, 4, 64, 64)).astype(np.float32))
PY
for ((i = 0; i < DISTINCT; i++)); do
  n=$(printf %02d "$i")
  PYTHONPATH=$root/tests/python "$binary" pack -o "$work/distinct/file_$n.raiiaf" \
    --image "$work/inputs/image_$n.png" --latent "initial_noise=$work/inputs/latent_$n.npy" \
    --model "model_$((i % 4))" --model-version 1.0 --prompt "benchmark image $i" \
    --settings "{\"seed\": $((1000 + i)), \"steps\": 30, \"sampler\": \"euler\"}" \
    --hardware '{"os": "Linux"}' --codec raw --python "$python" >/dev/null 2>&1
done

# Copies, damage and decoys, in one Python process (10,000 `cp` processes would dominate).
"$python" - "$work/distinct" "$work/corpus" "$FILES" "$binary" <<'PY'
import json, os, shutil, subprocess, sys
distinct_dir, corpus, total, binary = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
distinct = sorted(os.path.join(distinct_dir, n) for n in os.listdir(distinct_dir))
paths = []
for i in range(total):
    folder = os.path.join(corpus, f"d{i // 1000:02d}", f"e{i // 100 % 10:02d}")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"img_{i:05d}.raiiaf")
    shutil.copyfile(distinct[i % len(distinct)], path)
    paths.append(path)
    if i % 100 == 0:
        with open(os.path.join(folder, "notes.txt"), "w") as f:
            f.write("not a container\n")
info = json.loads(subprocess.run([binary, "info", "--json", distinct[0]], capture_output=True, check=True).stdout)
latent = next(r for r in info["manifest"]["raiiaf_metadata"]["chunks"] if r["type"] == "LATN")
flip_at = latent["offset"] + latent["compressed_size"] // 2
damage = {}
for n, i in enumerate(range(37, total, max(total // 15, 1))):
    path = paths[i]
    kind = ("truncated", "flipped", "garbage")[n % 3]
    data = bytearray(open(path, "rb").read())
    if kind == "truncated":
        data = data[: len(data) * 2 // 3]
    elif kind == "flipped":
        # flip_at lies in the latent of distinct[0], so damage a copy of that one.
        data = bytearray(open(distinct[0], "rb").read())
        data[flip_at] ^= 0x20
    else:
        data = bytearray(os.urandom(len(data)))
    open(path, "wb").write(data)
    damage[kind] = damage.get(kind, 0) + 1
sizes = [os.path.getsize(p) for p in paths]
print(f"# {len(paths)} container files, {sum(sizes) / len(sizes) / 1024:.0f} KiB on average, "
      f"{sum(sizes) / 2**20:.0f} MiB in all; damaged: {damage}")
PY

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
# Wall seconds and peak RSS (KiB) from a `time -v` log.
wall_seconds() { awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s}' "$1"; }
peak_kib() { awk -F': ' '/Maximum resident set size/ {print $2}' "$1"; }

echo
echo "## ours: $binary verify $work/corpus --recursive --report $work/report.json  ($RUNS runs)"
walls=()
peaks=()
for ((run = 1; run <= RUNS; run++)); do
  set +e
  /usr/bin/time -v -o "$work/time.$run" "$binary" verify "$work/corpus" --recursive --report "$work/report.json" \
    >"$work/stdout.$run" 2>"$work/stderr.$run"
  status=$?
  set -e
  walls+=("$(wall_seconds "$work/time.$run")")
  peaks+=("$(peak_kib "$work/time.$run")")
  echo "run $run: exit $status, wall ${walls[-1]} s, peak RSS $((peaks[-1] / 1024)) MiB; $(tail -n 2 "$work/stderr.$run" | head -n 1)"
done
wall=$(printf '%s\n' "${walls[@]}" | median)
peak=$(printf '%s\n' "${peaks[@]}" | sort -n | tail -n 1)
lines=$(wc -l <"$work/stdout.1")
echo "median wall ${wall} s for $lines files = $(awk -v n="$lines" -v w="$wall" 'BEGIN {printf "%.0f", n / w}') files/s; peak RSS $((peak / 1024)) MiB (largest of $RUNS runs)"
"$python" -c "import json,sys; print('report summary:', json.load(open(sys.argv[1]))['summary'])" "$work/report.json"
echo "targets: < 20 s and < 200 MiB for 10,000 files"

echo
find "$work/corpus" -name '*.raiiaf' | sort >"$work/all.txt"
head -n "$REF_FILES" "$work/all.txt" >"$work/subset.txt"
count=$(wc -l <"$work/subset.txt")
echo "## reference (raiiaf 1.1.0 file_decoder, one Python process) on the first $count files in path order"
/usr/bin/time -v -o "$work/time.ref" env PYTHONPATH="$root/tests/python" "$python" - "$work/subset.txt" <<'PY' 2>"$work/stderr.ref"
import contextlib, io, sys, time, warnings
warnings.simplefilter("ignore")
from raiiaf.handlers.file_handler import raiiafFileHandler
paths = open(sys.argv[1]).read().split()
handler = raiiafFileHandler()
failed = 0
start = time.perf_counter()
for path in paths:
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            handler.file_decoder(path)
    except Exception:
        failed += 1
seconds = time.perf_counter() - start
print(f"reference: {len(paths)} files in {seconds:.2f} s = {len(paths) / seconds:.0f} files/s "
      f"(decode loop only, after imports); {failed} raised", file=sys.stderr)
PY
grep '^reference:' "$work/stderr.ref"
echo "reference process: wall $(wall_seconds "$work/time.ref") s, peak RSS $(($(peak_kib "$work/time.ref") / 1024)) MiB"
# Ours on exactly the same files, named one by one.
mapfile -t subset_files <"$work/subset.txt"
/usr/bin/time -v -o "$work/time.sub" "$binary" verify --report "$work/subset.json" "${subset_files[@]}" \
  >/dev/null 2>"$work/stderr.sub" || true
echo "ours on the same $count files: wall $(wall_seconds "$work/time.sub") s, peak RSS $(($(peak_kib "$work/time.sub") / 1024)) MiB; $(grep -m1 'files' "$work/stderr.sub")"
