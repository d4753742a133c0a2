#!/usr/bin/env bash
# End-to-end test of the Linux desktop integration (packaging/linux/install.sh), in throwaway
# HOMEs under a temporary directory; nothing outside it is touched.
#
#   bash packaging/linux/test-install.sh [BINARY]      (default: target/debug/raiiaf)
#
# 1. --user into a fresh HOME: every installed file is there (binary, desktop entry, MIME
#    package, every icon size as a PNG of that size); desktop-file-validate passes; sample .raiiaf
#    and .gen5 files, copies of them WITHOUT extension (magic only) and copies with the extension
#    but foreign content (glob only) are typed application/x-raiiaf / application/x-gen5 by
#    xdg-mime (generic path, which runs File::MimeInfo's `mimetype`, and GNOME path, which runs
#    `gio info`) and by `gio info` itself; the same files are NOT typed so before the install and
#    after the uninstall (so the types come from our MIME XML, not from the system); xdg-mime and
#    gio name raiiaf-workbench.desktop as the default application; --uninstall leaves the HOME
#    exactly as it was (file listing and contents).
# 2. --user into a HOME that already has a mimeapps.list with other entries and other files:
#    after --uninstall every file is byte-for-byte what it was.
# 3. --system with PREFIX in the temporary directory: files, typing, defaults, clean uninstall.
# Prints PASS/FAIL per check and exits non-zero if any check failed.
# Needs desktop-file-utils, shared-mime-info, xdg-utils, libglib2.0-bin and libfile-mimeinfo-perl
# (bash packaging/setup.sh installs them).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$here/../.." && pwd)
install_sh="$here/install.sh"
bin="${1:-$repo_root/target/debug/raiiaf}"
icon_sizes=(16 24 32 48 64 128 256 512)

passed=0
failed=0
pass() {
  echo "PASS: $1"
  passed=$((passed + 1))
}
fail() {
  echo "FAIL: $1${2:+ -- $2}"
  failed=$((failed + 1))
}
# check DESCRIPTION COMMAND...: PASS when the command succeeds.
check() {
  local desc="$1" out
  shift
  if out=$("$@" 2>&1); then
    pass "$desc"
  else
    fail "$desc" "$(printf '%s' "$out" | tail -n 5 | tr '\n' ' ')"
  fi
}

if [ ! -x "$bin" ]; then
  echo "FAIL: binary $bin not found (cargo build, or pass its path)"
  exit 1
fi
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")

missing_tools=()
for t in desktop-file-validate update-mime-database update-desktop-database xdg-mime gio mimetype; do
  command -v "$t" >/dev/null 2>&1 || missing_tools+=("$t")
done
if [ ${#missing_tools[@]} -gt 0 ]; then
  echo "FAIL: missing tools: ${missing_tools[*]} (bash packaging/setup.sh installs them: desktop-file-utils," \
    "shared-mime-info, xdg-utils, libglib2.0-bin, libfile-mimeinfo-perl)"
  exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/raiiaf-install-test.XXXXXX")
trap 'rm -rf -- "$tmp"' EXIT

# Only the system's own MIME and application data, none from /usr/local or an earlier install, and
# no desktop-specific configuration: the types and defaults seen below come from this test's HOME.
export XDG_DATA_DIRS=/usr/share
export XDG_CONFIG_DIRS="$tmp/no-config-dirs"
unset XDG_CURRENT_DESKTOP KDE_FULL_SESSION KDE_SESSION_VERSION GNOME_DESKTOP_SESSION_ID \
  MATE_DESKTOP_SESSION_ID DESKTOP_SESSION XDG_MENU_PREFIX DBUS_SESSION_BUS_ADDRESS

# Sample files: by extension (both glob and magic), by magic alone, and by extension alone.
samples="$tmp/samples"
mkdir -p "$samples"
cp "$repo_root/tests/fixtures/f32_raw.raiiaf" "$samples/sample.raiiaf"
cp "$repo_root/tests/fixtures/f32_raw.raiiaf" "$samples/sample_raiiaf_noext"
cp "$repo_root/tests/fixtures/gen5_zstd.gen5" "$samples/sample.gen5"
cp "$repo_root/tests/fixtures/gen5_zstd.gen5" "$samples/sample_gen5_noext"
printf '\001\002\003\004\000\377binary, not a container\000' >"$samples/glob_only.raiiaf"
cp "$samples/glob_only.raiiaf" "$samples/glob_only.gen5"
cp "$samples/glob_only.raiiaf" "$samples/foreign_noext"
expected_type() {
  case "$1" in
    *.raiiaf | sample_raiiaf_noext) echo application/x-raiiaf ;;
    *.gen5 | sample_gen5_noext) echo application/x-gen5 ;;
    *) echo application/octet-stream ;;
  esac
}

# The type of a file as seen by each tool.
type_xdg_generic() { XDG_CURRENT_DESKTOP=X-Generic xdg-mime query filetype "$1" 2>/dev/null; }
type_xdg_gnome() { XDG_CURRENT_DESKTOP=GNOME xdg-mime query filetype "$1" 2>/dev/null; }
type_gio() { gio info -a standard::content-type "$1" 2>/dev/null | awk '$1 == "standard::content-type:" { print $2 }'; }

# check_types PHASE WANT. WANT=ours: each sample has its expected type (the foreign file none of
# ours), one line per sample and tool. WANT=none: no sample is given one of our types, one line per
# tool.
check_types() {
  local phase="$1" want="$2" f name tool got exp wrong
  for tool in xdg_generic xdg_gnome gio; do
    wrong=""
    for f in "$samples"/*; do
      name=$(basename "$f")
      got=$("type_$tool" "$f" || true)
      exp=$(expected_type "$name")
      [ "$want" = ours ] || exp=application/octet-stream
      if [ "$exp" = application/octet-stream ]; then
        case "$got" in
          application/x-raiiaf | application/x-gen5) wrong+="$name is $got; " ;;
          *) [ "$want" = none ] || pass "$phase: $tool: $name is not one of our types ($got)" ;;
        esac
      elif [ "$got" = "$exp" ]; then
        pass "$phase: $tool: $name is $got"
      else
        fail "$phase: $tool: $name" "got '$got', expected $exp"
      fi
    done
    if [ -n "$wrong" ]; then
      fail "$phase: $tool types none of the samples as ours" "$wrong"
    elif [ "$want" = none ]; then
      pass "$phase: $tool types none of the $(find "$samples" -type f | wc -l) samples as ours"
    fi
  done
}

# A listing of every path under a directory with its type and, for files, its checksum.
snapshot() {
  (cd "$1" && find . -mindepth 1 -print0 | sort -z | while IFS= read -r -d '' p; do
    if [ -f "$p" ] && [ ! -L "$p" ]; then
      printf 'f %s %s\n' "$(sha256sum <"$p" | cut -d' ' -f1)" "$p"
    elif [ -d "$p" ]; then
      printf 'd %s\n' "$p"
    else
      printf 'o %s\n' "$p"
    fi
  done)
}

check_same_tree() {
  local desc="$1" before="$2" dir="$3" diff_out
  if diff_out=$(diff <([ -z "$before" ] || printf '%s\n' "$before") <(snapshot "$dir")); then
    pass "$desc"
  else
    fail "$desc" "$(printf '%s' "$diff_out" | grep '^[<>]' | head -n 8 | tr '\n' ' ')"
  fi
}

png_size() { # WIDTHxHEIGHT of a PNG from its IHDR chunk
  local w h
  [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || return 1
  w=$(od -An -tu1 -j16 -N4 "$1" | awk '{ print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4 }')
  h=$(od -An -tu1 -j20 -N4 "$1" | awk '{ print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4 }')
  echo "${w}x${h}"
}

# check_installed PHASE BIN_DIR DATA_DIR MIMEAPPS
check_installed() {
  local phase="$1" bin_dir="$2" data_dir="$3" mimeapps="$4" n f got desktop exec_cmd
  desktop="$data_dir/applications/raiiaf-workbench.desktop"
  check "$phase: binary installed and runs ($bin_dir/raiiaf --version)" "$bin_dir/raiiaf" --version
  check "$phase: installed binary verifies a sample file" "$bin_dir/raiiaf" verify "$samples/sample.raiiaf"
  check "$phase: desktop entry installed" test -f "$desktop"
  check "$phase: desktop-file-validate passes on the installed entry" desktop-file-validate "$desktop"
  exec_cmd=$(sed -n 's/^Exec=\(.*\) %F$/\1/p' "$desktop" 2>/dev/null | tr -d '"' || true)
  if [ "$exec_cmd" = "$bin_dir/raiiaf" ]; then
    pass "$phase: Exec= runs the installed binary ($exec_cmd %F)"
  else
    fail "$phase: Exec= runs the installed binary" "Exec command is '$exec_cmd'"
  fi
  check "$phase: MIME package installed" test -f "$data_dir/mime/packages/raiiaf-workbench.xml"
  check "$phase: MIME database built" test -f "$data_dir/mime/mime.cache"
  for n in "${icon_sizes[@]}"; do
    for f in "apps/raiiaf-workbench.png" "mimetypes/application-x-raiiaf.png"; do
      got=$(png_size "$data_dir/icons/hicolor/${n}x${n}/$f" 2>/dev/null || echo missing)
      if [ "$got" = "${n}x${n}" ]; then
        pass "$phase: icon hicolor/${n}x${n}/$f is a ${n}x${n} PNG"
      else
        fail "$phase: icon hicolor/${n}x${n}/$f" "$got"
      fi
    done
  done
  check "$phase: scalable app icon installed" test -f "$data_dir/icons/hicolor/scalable/apps/raiiaf-workbench.svg"
  check "$phase: scalable MIME icon installed" test -f "$data_dir/icons/hicolor/scalable/mimetypes/application-x-raiiaf.svg"
  for t in application/x-raiiaf application/x-gen5; do
    if grep -qx "$t=raiiaf-workbench.desktop;\{0,1\}" "$mimeapps" 2>/dev/null; then
      pass "$phase: $mimeapps sets raiiaf-workbench.desktop for $t"
    else
      fail "$phase: $mimeapps sets raiiaf-workbench.desktop for $t"
    fi
    got=$(XDG_CURRENT_DESKTOP=X-Generic xdg-mime query default "$t" 2>/dev/null || true)
    if [ "$got" = raiiaf-workbench.desktop ]; then
      pass "$phase: xdg-mime query default $t is $got"
    else
      fail "$phase: xdg-mime query default $t" "got '$got'"
    fi
    got=$(gio mime "$t" 2>/dev/null | sed -n 's/^Default application for .*: //p' || true)
    if [ "$got" = raiiaf-workbench.desktop ]; then
      pass "$phase: gio mime $t: default application is $got"
    else
      fail "$phase: gio mime $t: default application" "got '$got'"
    fi
  done
}

run_install() { # DESCRIPTION ARGS...
  local desc="$1" out
  shift
  if out=$("$install_sh" "$@" 2>&1); then
    pass "$desc"
  else
    fail "$desc" "$(printf '%s' "$out" | tail -n 5 | tr '\n' ' ')"
  fi
}

check "the repository's desktop entry passes desktop-file-validate" desktop-file-validate "$here/raiiaf-workbench.desktop"

# ---- 1. --user into a fresh HOME ---------------------------------------------------------------
export HOME="$tmp/home1" XDG_DATA_HOME="$tmp/home1/.local/share" XDG_CONFIG_HOME="$tmp/home1/.config"
mkdir -p "$HOME"
before=$(snapshot "$HOME")
check_types "user, before install" none
got=$(XDG_CURRENT_DESKTOP=X-Generic xdg-mime query default application/x-raiiaf 2>/dev/null || true)
if [ -z "$got" ]; then
  pass "user, before install: no default application for application/x-raiiaf"
else
  fail "user, before install: no default application for application/x-raiiaf" "got '$got'"
fi
run_install "user: install.sh --user --bin $bin" --user --bin "$bin"
check_installed "user" "$HOME/.local/bin" "$XDG_DATA_HOME" "$XDG_CONFIG_HOME/mimeapps.list"
check_types "user, installed" ours
run_install "user: install.sh --user again (reinstall over itself)" --user --bin "$bin"
run_install "user: install.sh --uninstall" --uninstall
check_types "user, after uninstall" none
check_same_tree "user: after --uninstall the HOME is exactly as before" "$before" "$HOME"

# ---- 2. --user into a HOME with a mimeapps.list and other files of its own --------------------
export HOME="$tmp/home2" XDG_DATA_HOME="$tmp/home2/data" XDG_CONFIG_HOME="$tmp/home2/config"
mkdir -p "$HOME/.local/bin" "$XDG_CONFIG_HOME" "$XDG_DATA_HOME/icons/hicolor/48x48/apps" \
  "$XDG_DATA_HOME/applications"
printf '#!/bin/sh\n' >"$HOME/.local/bin/other-tool"
chmod +x "$HOME/.local/bin/other-tool"
cp "$repo_root/assets/icons/hicolor/48x48/apps/raiiaf-workbench.png" "$XDG_DATA_HOME/icons/hicolor/48x48/apps/other.png"
cat >"$XDG_CONFIG_HOME/mimeapps.list" <<'EOF'
[Default Applications]
text/plain=org.example.Editor.desktop
application/x-gen5=org.example.Other.desktop;

[Added Associations]
image/png=org.example.Viewer.desktop;
EOF
before=$(snapshot "$HOME")
run_install "prepopulated: install.sh --user" --bin "$bin"
if grep -qx 'text/plain=org.example.Editor.desktop' "$XDG_CONFIG_HOME/mimeapps.list" &&
  grep -qx 'image/png=org.example.Viewer.desktop;' "$XDG_CONFIG_HOME/mimeapps.list"; then
  pass "prepopulated: other mimeapps.list entries kept"
else
  fail "prepopulated: other mimeapps.list entries kept" "$(tr '\n' ' ' <"$XDG_CONFIG_HOME/mimeapps.list")"
fi
check_installed "prepopulated" "$HOME/.local/bin" "$XDG_DATA_HOME" "$XDG_CONFIG_HOME/mimeapps.list"
run_install "prepopulated: install.sh --uninstall" --uninstall
check_same_tree "prepopulated: after --uninstall every file is as before (mimeapps.list included)" "$before" "$HOME"

# ---- 3. --system into a PREFIX in the temporary directory ------------------------------------
export HOME="$tmp/home3" XDG_DATA_HOME="$tmp/home3/.local/share" XDG_CONFIG_HOME="$tmp/home3/.config"
prefix="$tmp/prefix"
mkdir -p "$HOME" "$prefix"
before=$(snapshot "$tmp/home3")
before_prefix=$(snapshot "$prefix")
export XDG_DATA_DIRS="$prefix/share:/usr/share"
PREFIX="$prefix" run_install "system: PREFIX=$prefix install.sh --system" --system --bin "$bin"
check_installed "system" "$prefix/bin" "$prefix/share" "$prefix/share/applications/mimeapps.list"
check_types "system, installed" ours
PREFIX="$prefix" run_install "system: install.sh --system --uninstall" --system --uninstall
check_types "system, after uninstall" none
check_same_tree "system: after --uninstall the prefix is exactly as before" "$before_prefix" "$prefix"
check_same_tree "system: the HOME was not touched" "$before" "$tmp/home3"

# ---- errors ---------------------------------------------------------------------------------------
if out=$(HOME="$tmp/home4" "$install_sh" --bin "$tmp/no-such-binary" 2>&1); then
  fail "a missing --bin fails" "install.sh exited 0"
elif printf '%s' "$out" | grep -q 'cargo build --release or pass --bin'; then
  pass "a missing --bin fails with a message naming cargo build --release and --bin"
else
  fail "a missing --bin fails with a clear message" "$out"
fi
check "a missing --bin installs nothing" test ! -e "$tmp/home4"

echo
echo "$passed passed, $failed failed"
if [ "$failed" -ne 0 ]; then
  echo "FAIL: desktop integration test"
  exit 1
fi
echo "PASS: desktop integration test"
