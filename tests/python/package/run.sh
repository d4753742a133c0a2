#!/usr/bin/env bash
# The Python package's tests, as a new user gets it: the wheel and sdist built by
# packaging/python/build.sh, the wheel installed into a fresh virtual environment beside the
# reference package (raiiaf 1.1.0, gen5 0.1.0), pytest (interop both ways on every fixture,
# info() against `raiiaf info --json`, damaged files, threads, the drop-in, a notebook executed
# by nbclient), the notebook's HTML drawn in headless Chromium, `pip install ./packaging/python`
# from source into a second fresh environment, then the benchmarks against the reference.
#   bash tests/python/package/run.sh [OUT_DIR]   (OUT_DIR keeps the screenshot; default target/python-out)
set -euo pipefail
cd "$(dirname "$0")/../../.."
root=$PWD
out=${1:-target/python-out}
mkdir -p "$out"
out="$(cd "$out" && pwd)"

dist=target/python-dist
rm -rf "$dist"
bash packaging/python/build.sh "$dist"

venv=target/python-test-venv
rm -rf "$venv"
python3 -m venv "$venv"
pip=("$venv/bin/pip" install --quiet --disable-pip-version-check)
"${pip[@]}" --no-deps raiiaf==1.1.0 gen5==0.1.0
"${pip[@]}" -r tests/python/requirements.txt -r tests/python/package/requirements.txt
"${pip[@]}" "$dist"/raiiaf_workbench-*.whl

# The reference imports torch; tests/python/torch stands in for it (see that folder).
export PYTHONPATH="$root/tests/python"
export RAIIAF_BIN="${RAIIAF_BIN:-$root/target/debug/raiiaf}"
[ -x "$RAIIAF_BIN" ] || cargo build --quiet --bin raiiaf
export RAIIAF_NOTEBOOK_HTML="$out/notebook.html"
export RAIIAF_NO_SINGLE_INSTANCE=1

# A display for the window test (view); Mesa's software drivers as in tests/scripts/screenshots.sh.
# Xvfb picks a free display and says which (-displayfd).
display_file=$(mktemp)
Xvfb -displayfd 3 -screen 0 1600x1000x24 -nolisten tcp 3>"$display_file" >/dev/null 2>&1 &
xvfb=$!
trap 'kill $xvfb 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s "$display_file" ] && break; sleep 0.1; done
export DISPLAY=":$(cat "$display_file")"

(cd tests/python/package && "$root/$venv/bin/python" -m pytest -q -p no:cacheprovider .)

# The notebook view as a browser draws it.
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$(mktemp -d)" --window-size=1100,1420 \
  --screenshot="$out/notebook.png" "file://$out/notebook.html" >/dev/null 2>&1
test -s "$out/notebook.png"
echo "notebook view drawn: $out/notebook.png"

# From source, as the README says: `pip install ./packaging/python` (maturin from PyPI in pip's
# build environment; the Rust build reuses target/).
source_venv=target/python-source-venv
rm -rf "$source_venv"
python3 -m venv "$source_venv"
"$source_venv/bin/pip" install --quiet --disable-pip-version-check ./packaging/python
"$source_venv/bin/python" -c "
import raiiaf_workbench as rw, sys
c = rw.open(sys.argv[1])
assert c.ok and len(c.latents) > 0, c
print('pip install ./packaging/python:', c)
" assets/examples/aurora.raiiaf

"$venv/bin/python" tests/python/package/bench.py --quick
