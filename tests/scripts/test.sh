#!/usr/bin/env bash
# The whole test suite, from a fresh clone: system packages, the reference Python package in a
# virtual environment, then every Rust test (including the cross-checks against the reference).
set -euo pipefail
cd "$(dirname "$0")/../.."

bash packaging/setup.sh

venv=.venv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import raiiaf, gen5, zfpy" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps raiiaf==1.1.0 gen5==0.1.0
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/python/requirements.txt
fi
export RAIIAF_REFERENCE_PYTHON="$PWD/$venv/bin/python"

cargo fmt --all --check
# The workspace: the app and the Python package's native module (packaging/python).
cargo clippy --workspace --all-targets --quiet -- -D warnings
cargo test --all-targets
# The portable core: the library without the window builds for the browser and for Windows, and
# its browser-only code passes clippy (about 2 minutes from clean).
cargo build --quiet --lib --no-default-features --target wasm32-unknown-unknown
cargo clippy --quiet --lib --no-default-features --target wasm32-unknown-unknown -- -D warnings
cargo build --quiet --lib --no-default-features --target x86_64-pc-windows-gnu
# The fuzz targets build, and each runs briefly on its seeds and saved crashers (the long runs
# quoted in the README are `tests/fuzz/run.sh all 600`).
bash tests/fuzz/run.sh all "${RAIIAF_FUZZ_SECONDS:-15}"
# The real window under a virtual X server, once per tab.
bash tests/scripts/screenshots.sh
# The web page: built for wasm32 in release and driven in headless Chromium (about 6 minutes
# from clean: the release build of the page, then about 2 minutes in the browser).
bash tests/web/run.sh
# Windows: the release cross-build (exe, zip, MSI), its command line under Wine against the Linux
# build's, and the window under Wine once per tab (about 8 minutes from clean, mostly the build).
bash tests/windows/run.sh
# The Python package: the wheel and sdist (a release build of the module, the window included:
# about 10 minutes from clean), pytest on the wheel in a fresh venv beside the reference, a
# notebook run by nbclient and drawn in Chromium, `pip install ./packaging/python` from source
# (the same build, reused), and the benchmarks against the reference, briefly.
bash tests/python/package/run.sh
# Desktop integration: install into temporary HOMEs and check MIME typing and default handler,
# build the .deb and install and remove it, and check the prepared macOS and Windows files.
bash packaging/linux/test-install.sh target/debug/raiiaf
bash packaging/linux/test-deb.sh
bash packaging/windows/check-msi.sh
python3 packaging/macos/check-info-plist.py
