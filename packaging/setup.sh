#!/usr/bin/env bash
# Installs the system packages RAIIAF Workbench needs to build and test, on Debian/Ubuntu.
#   tests: cmake and libclang for zfp-sys, the C zfp library the tests prove zfp-rs bit-exact
#     against (the product's zfp is pure Rust and needs neither)
#   portable core (tests/scripts/test.sh builds the library for the browser and Windows): the
#     wasm32-unknown-unknown and x86_64-pc-windows-gnu Rust targets, clang (zstd's C for wasm32)
#     and gcc-mingw-w64-x86-64 (zstd's C for Windows)
#   GUI tests and screenshots: Xvfb and Mesa's software Vulkan/GL drivers
#   desktop integration test (packaging/linux/test-install.sh): desktop-file-utils
#     (desktop-file-validate, update-desktop-database), shared-mime-info (update-mime-database),
#     xdg-utils (xdg-mime), libglib2.0-bin (gio) and libfile-mimeinfo-perl (mimetype, which
#     xdg-mime's generic path uses to read the shared MIME database)
#   Debian package test (packaging/linux/test-deb.sh): cargo-deb, installed with cargo
#   fuzz targets (tests/fuzz/run.sh): cargo-fuzz, installed with cargo (libFuzzer builds with g++)
#   Windows installer check (packaging/windows/check-msi.sh): wixl and msitools (msiinfo)
#   web page test (tests/web/run.sh): chromium and chromium-driver, headless
#   Windows build and its tests (packaging/windows/build.sh, tests/windows/run.sh):
#     gcc-mingw-w64-x86-64 and binutils-mingw-w64-x86-64 (linker, windres), wine and wine64,
#     x11-utils (xwininfo: which windows a double-click left on the virtual display)
# Idempotent: what is already present is skipped, so a second run costs a few dpkg queries.
set -euo pipefail

packages=(cmake libclang-dev clang pkg-config xvfb mesa-vulkan-drivers libgl1-mesa-dri libegl1
          libxkbcommon-x11-0 libx11-xcb1 python3 python3-venv
          desktop-file-utils shared-mime-info xdg-utils libglib2.0-bin libfile-mimeinfo-perl
          wixl msitools gcc-mingw-w64-x86-64 binutils-mingw-w64-x86-64 chromium chromium-driver
          wine wine64 x11-utils)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then
    sudo_cmd=(sudo)
  fi
  echo "setup: installing ${missing[*]}" >&2
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Rust's standard library for the browser and Windows targets (rustup skips installed ones).
rustup target add wasm32-unknown-unknown x86_64-pc-windows-gnu 2>&1 | grep -v "is up to date" >&2 || true

# cargo-deb for the Debian package test (packaging/linux/test-deb.sh), from crates.io. Pinned:
# the test packages the dev build, which cargo-deb 3.8 warns later versions will refuse.
cargo_deb_version=3.8.0
if ! cargo deb --version 2>/dev/null | grep -qx "cargo-deb $cargo_deb_version"; then
  echo "setup: installing cargo-deb $cargo_deb_version (a few minutes)" >&2
  cargo install --quiet --locked cargo-deb --version "$cargo_deb_version"
fi

# cargo-fuzz for the fuzz targets (tests/fuzz/run.sh), from crates.io, pinned like cargo-deb.
cargo_fuzz_version=0.13.2
if ! cargo fuzz --version 2>/dev/null | grep -qx "cargo-fuzz $cargo_fuzz_version"; then
  echo "setup: installing cargo-fuzz $cargo_fuzz_version (about a minute)" >&2
  cargo install --quiet --locked cargo-fuzz --version "$cargo_fuzz_version"
fi
