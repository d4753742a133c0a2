#!/usr/bin/env bash
# Builds the web page into OUT_DIR: index.html, raiiaf.js and raiiaf_bg.wasm (wasm-bindgen's
# glue and the app), and the icon. Any static host can serve the folder as it is.
#   bash packaging/web/build.sh OUT_DIR
# Installs what it needs itself: the wasm32 Rust target and wasm-bindgen's command line at the
# version Cargo.lock pins for the wasm-bindgen crate (the two must match exactly).
set -euo pipefail
out=${1:?usage: packaging/web/build.sh OUT_DIR}
cd "$(dirname "$0")/../.."

rustup target add wasm32-unknown-unknown 2>&1 | grep -v "is up to date" >&2 || true

version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if ! wasm-bindgen --version 2>/dev/null | grep -qx "wasm-bindgen $version"; then
  echo "web: installing wasm-bindgen-cli $version (a few minutes)" >&2
  # Not --locked: its lock file names webpki-roots 1.0.11, which this machine's crates.io mirror
  # lacks; the version itself is pinned, and its dependencies resolve within their semver ranges.
  cargo install --quiet wasm-bindgen-cli --version "$version"
fi

# WebAssembly SIMD (every browser since 2023: Chrome 91, Firefox 89, Safari 16.4): opening a
# 1x4x128x128 zfp file took 4.7 ms without it and 2.9 ms with it (tests/web/bench_page.py).
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-C target-feature=+simd128"
cargo build --quiet --release --target wasm32-unknown-unknown --bin raiiaf
mkdir -p "$out"
wasm-bindgen --target web --no-typescript --out-dir "$out" --out-name raiiaf \
  target/wasm32-unknown-unknown/release/raiiaf.wasm
cp packaging/web/index.html "$out/index.html"
cp assets/icons/hicolor/64x64/apps/raiiaf-workbench.png "$out/icon-64.png"
echo "web: built $(du -sh "$out" | cut -f1) into $out" >&2
