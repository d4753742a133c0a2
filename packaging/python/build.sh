#!/usr/bin/env bash
# Builds the Python package: a manylinux wheel (the native module for CPython 3.9 and later, one
# stable-ABI wheel) and an sdist, into OUT_DIR. maturin comes from PyPI into a virtual
# environment under target/, so nothing is installed system-wide. The wheel's Rust build is the
# workspace's release build (target/release), which `cargo deb` and this share.
#   bash packaging/python/build.sh OUT_DIR
set -euo pipefail
out=${1:?usage: build.sh OUT_DIR}
root="$(cd "$(dirname "$0")/../.." && pwd)"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
tools="$root/target/maturin-venv"
if [ ! -x "$tools/bin/maturin" ] || [ "$("$tools/bin/maturin" --version)" != "maturin 1.16.0" ]; then
  python3 -m venv "$tools"
  "$tools/bin/pip" install --quiet --disable-pip-version-check maturin==1.16.0
fi
cd "$root"
"$tools/bin/maturin" build --release --manifest-path packaging/python/Cargo.toml --out "$out"
"$tools/bin/maturin" sdist --manifest-path packaging/python/Cargo.toml --out "$out"
ls -l "$out"
