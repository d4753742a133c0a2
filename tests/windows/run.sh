#!/usr/bin/env bash
# The Windows build under Wine: cross-builds the artefacts (packaging/windows/build.sh), checks
# the command line against the Linux build (tests/windows/check_cli.py), runs the library's unit
# tests, installs, double-clicks (twice: one window) and uninstalls the MSI
# (tests/windows/check_install.sh), and draws the window under Wine and Xvfb once per tab
# (screenshots in target/wine-screenshots).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=target/windows
bash packaging/windows/build.sh "$out"
for p in wine wine64; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || {
    echo "windows: $p is missing (bash packaging/setup.sh installs it)" >&2
    exit 1
  }
done
cargo build --quiet --bin raiiaf
export WINEDEBUG=-all WINEPREFIX="$PWD/target/wine-prefix"
# Wine 8.0 lacks bcryptprimitives.dll, which Rust's standard library imports and real Windows
# has: a test-only stub, built once here and put beside each exe the tests run (never shipped).
stub=target/wine-stub/bcryptprimitives.dll
mkdir -p "$(dirname "$stub")"
x86_64-w64-mingw32-gcc -shared -O2 -o "$stub" tests/windows/bcryptprimitives.c tests/windows/bcryptprimitives.def -lbcrypt
python3 tests/windows/check_cli.py "$PWD/target/debug/raiiaf" "$out/raiiaf.exe" "$stub"

# The Windows-only code (named pipe, console, Ctrl-C handler) passes clippy too.
cargo clippy --quiet --release --target x86_64-pc-windows-gnu --bin raiiaf -- -D warnings

# The library's unit tests, built for Windows and run under Wine: among them the single-instance
# named pipe's (caps, timeouts, a live server keeping its name). Release, to reuse the release
# build's dependencies; the stub goes beside the test binary.
# The reference package's interpreter is a Linux program a Windows process cannot start: the
# tests that run it stay on the Linux side (they skip without RAIIAF_REFERENCE_PYTHON).
cp "$stub" target/x86_64-pc-windows-gnu/release/deps/bcryptprimitives.dll
env -u RAIIAF_REFERENCE_PYTHON CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER="$(command -v wine64 || echo /usr/lib/wine/wine64)" \
  cargo test --quiet --release --target x86_64-pc-windows-gnu --lib

# The installer: install, double-click, uninstall.
bash tests/windows/check_install.sh "$out/raiiaf-workbench.msi" "$stub"

# The window: Wine has no Vulkan here, so wgpu cannot start and the window falls back to glow.
wine=$(command -v wine64 || echo /usr/lib/wine/wine64)
shots=target/wine-screenshots
mkdir -p "$shots"
cp "$stub" "$out/bcryptprimitives.dll"
for tab in latents image manifest chunks environment; do
  rm -f "$shots/$tab.png"
  log=$(xvfb-run -a -s "-screen 0 1600x1000x24" "$wine" "$out/raiiaf.exe" view assets/examples/aurora.raiiaf \
    --tab "$tab" --size 1280x860 --screenshot "$shots/$tab.png" 2>&1) || { echo "$log" >&2; exit 1; }
  [ -s "$shots/$tab.png" ] || { echo "windows: no screenshot of $tab: $log" >&2; exit 1; }
  echo "windows: $tab drawn under Wine ($(echo "$log" | grep -o 'drawing with [^(]*' | head -1))"
done
rm -f "$out/bcryptprimitives.dll"
