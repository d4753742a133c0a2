#!/usr/bin/env bash
# End-to-end test of the Debian package made by cargo-deb from `[package.metadata.deb]` in
# Cargo.toml: build it, list its contents, install it with dpkg, use it, remove it.
#
#   bash packaging/linux/test-deb.sh            package the dev build (target/debug/raiiaf)
#   bash packaging/linux/test-deb.sh --release  package a release build, as for shipping
#
# Default: `cargo build` (nothing to do after `cargo test`), then `cargo deb --no-build
# --profile dev --fast`. cargo-deb reads the same metadata and assets, strips the binary and
# computes the dependencies from it exactly as for a release; only the binary is unoptimised.
# cargo-deb 3.8 warns that the dev profile "will be a hard error in the future", so
# packaging/setup.sh pins 3.8.0. --release runs plain `cargo deb` (a release build: minutes here).
#
# Checks: every expected path is in the package (`dpkg-deb -c`) and the control fields; then,
# as root (or through sudo; otherwise the install half is skipped and says so): `dpkg -i`, the
# files on disk, `/usr/bin/raiiaf --version`, a sample typed by its content alone (copies of a
# .raiiaf and a .gen5 without extension) as application/x-raiiaf / x-gen5 by `xdg-mime query
# filetype` and `gio info` (not before the install: the types come from the package, through
# shared-mime-info's dpkg trigger), the desktop entry listed for both types in mimeinfo.cache;
# then `dpkg -r` and every file, the types and the cache entries gone again.
# Refuses to run where raiiaf-workbench is installed already. Prints PASS/FAIL per check and
# exits non-zero if any check failed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$here/../.." && pwd)
cd "$repo_root"
package=raiiaf-workbench
icon_sizes=(16 24 32 48 64 128 256 512)
release=false
case "${1:-}" in
  --release) release=true ;;
  "") ;;
  *) echo "usage: $0 [--release]" >&2; exit 64 ;;
esac

passed=0
failed=0
skipped=0
pass() { echo "PASS: $1"; passed=$((passed + 1)); }
fail() { echo "FAIL: $1${2:+ -- $2}"; failed=$((failed + 1)); }
skip() { echo "SKIP: $1"; skipped=$((skipped + 1)); }
# check DESCRIPTION COMMAND...: PASS when the command succeeds.
check() {
  local desc="$1" out
  shift
  if out=$("$@" 2>&1); then pass "$desc"; else fail "$desc" "$(printf '%s' "$out" | tail -n 5 | tr '\n' ' ')"; fi
}
# present: the package is known to dpkg in any state but "not installed".
present() {
  local status
  status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
  [ -n "$status" ] && [[ "$status" != *not-installed ]]
}
summary() {
  echo "test-deb: $passed passed, $failed failed, $skipped skipped"
  [ "$failed" -eq 0 ]
}

for tool in cargo-deb dpkg-deb dpkg; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "FAIL: $tool not found (bash packaging/setup.sh installs cargo-deb)"
    exit 1
  fi
done

as_root=()
can_install=true
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
  else
    can_install=false
  fi
fi
if present; then
  echo "FAIL: $package is on this machine already ($(dpkg-query -W -f='${Status}' "$package"));" \
    "this test installs and removes it (dpkg -P $package first)"
  exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/raiiaf-deb-test.XXXXXX")
installed_by_us=false
cleanup() {
  # A failed run must not leave the package installed.
  if $installed_by_us && present; then
    "${as_root[@]}" dpkg -r "$package" >/dev/null 2>&1 || true
  fi
  rm -rf -- "$tmp"
}
trap cleanup EXIT

# --- build ---
start=$(date +%s)
if $release; then
  cargo deb -o "$tmp/"
else
  cargo build --quiet --bin raiiaf
  echo "test-deb: packaging the dev build (cargo-deb's dev-profile warning below is expected)"
  # --strip: the dev profile keeps debug info, which would make a 500 MB package.
  cargo deb --no-build --profile dev --strip --no-separate-debug-symbols --fast -o "$tmp/"
fi
echo "test-deb: package built in $(($(date +%s) - start)) s"
debs=("$tmp"/"$package"_*.deb)
if [ ! -f "${debs[0]}" ] || [ ${#debs[@]} -ne 1 ]; then
  echo "FAIL: expected one $package .deb in $tmp, found: ${debs[*]}"
  exit 1
fi
deb=${debs[0]}
pass "cargo deb made $(basename "$deb")"

# --- contents ---
expected=(
  usr/bin/raiiaf
  usr/share/applications/raiiaf-workbench.desktop
  usr/share/mime/packages/raiiaf-workbench.xml
  usr/share/icons/hicolor/scalable/apps/raiiaf-workbench.svg
  usr/share/icons/hicolor/scalable/mimetypes/application-x-raiiaf.svg
  usr/share/doc/raiiaf-workbench/README.md
  usr/share/doc/raiiaf-workbench/LICENSE
  usr/share/doc/raiiaf-workbench/copyright
)
for size in "${icon_sizes[@]}"; do
  expected+=("usr/share/icons/hicolor/${size}x${size}/apps/raiiaf-workbench.png"
    "usr/share/icons/hicolor/${size}x${size}/mimetypes/application-x-raiiaf.png")
done
listing=$(dpkg-deb -c "$deb")
for path in "${expected[@]}"; do
  if grep -qE " \./$path\$" <<<"$listing"; then pass "package holds /$path"; else fail "package holds /$path"; fi
done
if grep -qE '^-rwxr-xr-x .* \./usr/bin/raiiaf$' <<<"$listing"; then
  pass "/usr/bin/raiiaf is mode 755"
else
  fail "/usr/bin/raiiaf is mode 755" "$(grep ' ./usr/bin/raiiaf$' <<<"$listing")"
fi
for path in "${expected[@]}"; do
  case "$path" in
    usr/bin/*) ;;
    *) grep -qE "^-rw-r--r-- .* \./$path\$" <<<"$listing" || fail "/$path is mode 644" ;;
  esac
done
unexpected=$(awk '$1 !~ /^d/ {print $6}' <<<"$listing" | sed 's|^\./||' | grep -vxF -f <(printf '%s\n' "${expected[@]}") || true)
if [ -z "$unexpected" ]; then pass "package holds nothing else"; else fail "package holds nothing else" "$unexpected"; fi
check "control: Package $package" test "$(dpkg-deb -f "$deb" Package)" = "$package"
check "control: Section graphics" test "$(dpkg-deb -f "$deb" Section)" = graphics
check "control: Version $(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)-1" \
  test "$(dpkg-deb -f "$deb" Version)" = "$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)-1"
depends=$(dpkg-deb -f "$deb" Depends)
check "control: Depends has libc6 (computed from the binary): $depends" grep -q "libc6" <<<"$depends"
for lib in libx11-6 libx11-xcb1 libxcursor1 libxi6 libxkbcommon-x11-0 "libvulkan1 | libegl1"; do
  # Opened at run time, so only the metadata can name them.
  check "control: Depends has $lib" grep -qF "$lib" <<<"$depends"
done

# --- install, use, remove ---
if ! $can_install; then
  skip "install and remove: not root and no password-less sudo (run as root to test dpkg -i / dpkg -r)"
  summary
  exit $?
fi

export XDG_DATA_DIRS=/usr/share HOME="$tmp/home" XDG_DATA_HOME="$tmp/home/.local/share"
export XDG_CONFIG_HOME="$tmp/home/.config" XDG_CONFIG_DIRS="$tmp/no-config-dirs"
unset XDG_CURRENT_DESKTOP KDE_FULL_SESSION DESKTOP_SESSION DBUS_SESSION_BUS_ADDRESS
mkdir -p "$HOME"
samples="$tmp/samples"
mkdir -p "$samples"
cp tests/fixtures/f32_raw.raiiaf "$samples/raiiaf-sample"
cp tests/fixtures/gen5_zstd.gen5 "$samples/gen5-sample"
# typed FILE: what xdg-mime and gio call it, on one line.
typed() {
  printf '%s %s' "$(xdg-mime query filetype "$1" 2>/dev/null)" \
    "$(gio info -a standard::content-type "$1" 2>/dev/null | sed -n 's/.*standard::content-type: //p')"
}
# not_typed NAME FILE: neither tool calls FILE application/x-NAME.
not_typed() { ! grep -q "application/x-$1" <<<"$(typed "$2")"; }
have_typing=true
command -v xdg-mime >/dev/null 2>&1 && command -v gio >/dev/null 2>&1 || have_typing=false
if $have_typing; then
  for name in raiiaf gen5; do
    check "before install: $name-sample is not typed application/x-$name" \
      not_typed "$name" "$samples/$name-sample"
  done
fi

installed_by_us=true
check "dpkg -i $(basename "$deb")" "${as_root[@]}" dpkg -i "$deb"
check "dpkg says $package is installed" bash -c "dpkg-query -W -f='\${Status}' $package | grep -qx 'install ok installed'"
missing=()
for path in "${expected[@]}"; do
  [ -f "/$path" ] || missing+=("/$path")
done
if [ ${#missing[@]} -eq 0 ]; then pass "every packaged file is on disk"; else fail "every packaged file is on disk" "missing: ${missing[*]}"; fi
check "/usr/bin/raiiaf --version" bash -c '/usr/bin/raiiaf --version | grep -qx "raiiaf [0-9.]*"'
check "/usr/bin/raiiaf verify runs on a sample" /usr/bin/raiiaf verify tests/fixtures/f32_raw.raiiaf
if $have_typing; then
  for name in raiiaf gen5; do
    got=$(typed "$samples/$name-sample")
    if [ "$got" = "application/x-$name application/x-$name" ]; then
      pass "installed: $name-sample (no extension) typed application/x-$name by xdg-mime and gio"
    else
      fail "installed: $name-sample (no extension) typed application/x-$name by xdg-mime and gio" "got: $got"
    fi
  done
else
  skip "file typing: xdg-mime or gio missing (packaging/setup.sh installs xdg-utils and libglib2.0-bin)"
fi
check "the MIME database knows application/x-raiiaf" test -f /usr/share/mime/application/x-raiiaf.xml
for name in raiiaf gen5; do
  check "mimeinfo.cache lists the desktop entry for application/x-$name" \
    grep -q "^application/x-$name=.*raiiaf-workbench.desktop" /usr/share/applications/mimeinfo.cache
done

check "dpkg -r $package" "${as_root[@]}" dpkg -r "$package"
installed_by_us=false
if present; then fail "dpkg says $package is gone" "$(dpkg-query -W -f='${Status}' "$package")"; else pass "dpkg says $package is gone"; fi
left=()
for path in "${expected[@]}"; do
  [ -e "/$path" ] && left+=("/$path")
done
if [ ${#left[@]} -eq 0 ]; then pass "every packaged file is gone"; else fail "every packaged file is gone" "${left[*]}"; fi
check "the MIME database forgot application/x-raiiaf" test ! -e /usr/share/mime/application/x-raiiaf.xml
check "mimeinfo.cache no longer lists the desktop entry" \
  bash -c '! grep -q raiiaf-workbench.desktop /usr/share/applications/mimeinfo.cache 2>/dev/null'
if $have_typing; then
  for name in raiiaf gen5; do
    check "removed: $name-sample is not typed application/x-$name" \
      not_typed "$name" "$samples/$name-sample"
  done
fi
summary
