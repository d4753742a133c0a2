#!/usr/bin/env bash
# Cross-builds the Windows release on Linux and writes into OUT_DIR:
#   raiiaf.exe                      the program (icon and version resources embedded)
#   raiiaf-windows-x86_64.zip       portable: raiiaf.exe, README.md and LICENSE
#   raiiaf-workbench.msi            the installer, built with wixl from packaging/windows/main.wxs
#   bash packaging/windows/build.sh OUT_DIR
# Installs what it needs itself: the x86_64-pc-windows-gnu Rust target, and with apt mingw-w64
# (the linker, windres, zstd's C code) and wixl.
set -euo pipefail
out=${1:?usage: packaging/windows/build.sh OUT_DIR}
cd "$(dirname "$0")/../.."
mkdir -p "$out"
out=$(cd "$out" && pwd)

missing=()
for p in gcc-mingw-w64-x86-64 binutils-mingw-w64-x86-64 wixl; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
rustup target add x86_64-pc-windows-gnu 2>&1 | grep -v "is up to date" >&2 || true

cargo build --quiet --release --target x86_64-pc-windows-gnu --bin raiiaf
exe=target/x86_64-pc-windows-gnu/release/raiiaf.exe
cp "$exe" "$out/raiiaf.exe"

# The portable zip (Python's zipfile: no zip package needed).
rm -f "$out/raiiaf-windows-x86_64.zip"
python3 - "$out/raiiaf-windows-x86_64.zip" "$exe" README.md LICENSE <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as archive:
    for path in sys.argv[2:]:
        archive.write(path, path.rsplit("/", 1)[-1])
PY

# The MSI. wixl resolves sources relative to its working directory, as cargo-wix's are relative
# to the package root: it runs in a temporary folder holding links to what main.wxs names.
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
work=$(mktemp -d "${TMPDIR:-/tmp}/raiiaf-msi.XXXXXX")
trap 'rm -rf -- "$work"' EXIT
mkdir -p "$work/bin"
ln -s "$PWD/packaging" "$PWD/LICENSE" "$work/"
ln -s "$PWD/$exe" "$work/bin/raiiaf.exe"
(cd "$work" && wixl -a x64 -D Version="$version" -D Platform=x64 -D CargoTargetBinDir=bin \
  -o "$out/raiiaf-workbench.msi" packaging/windows/main.wxs) 2> >(grep -v "no property named 'Schedule'" >&2)
ls -l "$out" >&2
