#!/usr/bin/env bash
# Builds packaging/windows/main.wxs into an MSI on Linux with wixl (msitools), around a stand-in
# raiiaf.exe, and checks the MSI's tables: the registry rows that make RAIIAF Workbench the
# handler of .raiiaf and .gen5, the files, the Start menu shortcut, version and upgrade code.
#
#   bash packaging/windows/check-msi.sh
#
# This is not the real build (cargo-wix runs the WiX Toolset 3 on Windows) and installs nothing:
# wixl implements a subset of WiX 3 (it ignores MajorUpgrade's Schedule, and writes registry keys
# with a trailing backslash where WiX does not). It catches XML, variable and reference errors,
# and checks that what the installer would write is what we meant. Needs wixl and msitools
# (bash packaging/setup.sh installs them). Prints PASS/FAIL per check; non-zero if any failed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$here/../.."
for tool in wixl msiinfo; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "FAIL: $tool not found (apt-get install wixl msitools; bash packaging/setup.sh installs them)"
    exit 1
  fi
done

passed=0
failed=0
# expect DESCRIPTION ACTUAL EXPECTED
expect() {
  if [ "$2" = "$3" ]; then
    echo "PASS: $1"
    passed=$((passed + 1))
  else
    echo "FAIL: $1 -- got '$2', expected '$3'"
    failed=$((failed + 1))
  fi
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/raiiaf-msi-check.XXXXXX")
trap 'rm -rf -- "$tmp"' EXIT
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
# wixl resolves sources relative to the working directory, as cargo-wix's are relative to the
# package root: it runs in a temporary folder holding links to what the source names.
mkdir -p "$tmp/work/bin"
ln -s "$PWD/packaging" "$PWD/LICENSE" "$tmp/work/"
printf 'MZ stand-in for raiiaf.exe' >"$tmp/work/bin/raiiaf.exe"
if (cd "$tmp/work" && wixl -a x64 -D Version="$version" -D Platform=x64 -D CargoTargetBinDir=bin \
  -o "$tmp/raiiaf.msi" packaging/windows/main.wxs) 2>"$tmp/wixl.log"; then
  expect "wixl builds main.wxs" ok ok
else
  grep -v "no property named 'Schedule'" "$tmp/wixl.log" || true
  expect "wixl builds main.wxs" failed ok
  exit 1
fi
msi="$tmp/raiiaf.msi"
repo=$PWD
# msiinfo export writes a table's binary columns (the Icon table's icon) into the working directory.
cd "$tmp"

# column TABLE KEY_COLUMN KEY VALUE_COLUMN: the value column of the row whose key column is KEY
# (msiinfo export prints tab-separated CRLF rows after three header lines).
column() {
  msiinfo export "$msi" "$1" | tr -d '\r' | KEY="$3" awk -F'\t' -v k="$2" -v v="$4" 'NR > 3 && $k == ENVIRON["KEY"] { print $v }'
}
# registry KEY NAME: the HKLM (root 2) value at KEY (with or without wixl's trailing backslash).
registry() {
  msiinfo export "$msi" Registry | tr -d '\r' | KEY="$1" NAME="$2" awk -F'\t' \
    'NR > 3 && $2 == 2 && ($3 == ENVIRON["KEY"] || $3 == ENVIRON["KEY"] "\\") && $4 == ENVIRON["NAME"] { print $5 }'
}

expect "ProductVersion is Cargo.toml's version" "$(column Property 1 ProductVersion 2)" "$version"
expect "UpgradeCode is the product's fixed one" "$(column Property 1 UpgradeCode 2)" "{CDC4774A-9883-4F80-9EC9-A77CC47D7ED3}"
expect "per-machine install (ALLUSERS=1)" "$(column Property 1 ALLUSERS 2)" "1"
expect "installs raiiaf.exe" "$(column File 1 RaiiafExe 3)" "raiiaf.exe"
expect "installs the document icon" "$(column File 1 DocumentIcon 3)" "raiiaf-file.ico"
expect "document icon is the committed .ico" "$(column File 1 DocumentIcon 4)" "$(stat -c %s "$repo/packaging/windows/raiiaf-file.ico")"
expect "Start menu shortcut runs raiiaf.exe" "$(column Shortcut 1 RaiiafShortcut 5)" "[#RaiiafExe]"
expect "Start menu shortcut is in the Start menu" "$(column Shortcut 1 RaiiafShortcut 2)" "ProgramMenuFolder"
expect "application icon in the Icon table" "$(msiinfo export "$msi" Icon | tr -d '\r' | awk -F'\t' 'NR > 3 { print $1 }')" "RaiiafIcon"
for type in raiiaf gen5; do
  progid="RaiiafWorkbench.$type"
  expect ".$type names its ProgID" "$(registry "Software\\Classes\\.$type" "")" "$progid"
  expect ".$type Content Type" "$(registry "Software\\Classes\\.$type" "Content Type")" "application/x-$type"
  expect ".$type lists its ProgID in OpenWithProgids" \
    "$(registry "Software\\Classes\\.$type\\OpenWithProgids" "$progid" | wc -l)" "1"
  expect "$progid opens the file with raiiaf.exe" \
    "$(registry "Software\\Classes\\$progid\\shell\\open\\command" "")" '"[#RaiiafExe]" "%1"'
  expect "$progid has the document icon" "$(registry "Software\\Classes\\$progid\\DefaultIcon" "")" "[#DocumentIcon]"
  expect "Applications\\raiiaf.exe supports .$type" \
    "$(registry "Software\\Classes\\Applications\\raiiaf.exe\\SupportedTypes" ".$type" | wc -l)" "1"
done
expect "Applications\\raiiaf.exe opens with raiiaf.exe" \
  "$(registry "Software\\Classes\\Applications\\raiiaf.exe\\shell\\open\\command" "")" '"[#RaiiafExe]" "%1"'

echo "check-msi: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
