#!/usr/bin/env bash
# The MSI under Wine, in a fresh Wine prefix: `msiexec /i` installs it, the registry then holds
# the file types, ProgIDs, icons and open commands; `wine start /unix FILE`, Windows' double-click
# path, starts the installed raiiaf.exe with that file; `msiexec /x` removes every file and key.
#   bash tests/windows/check_install.sh MSI STUB_DLL
# STUB_DLL: the test-only bcryptprimitives.dll tests/windows/run.sh builds (see check_cli.py).
set -euo pipefail
msi=$(realpath "${1:?usage: check_install.sh MSI STUB_DLL}")
stub=$(realpath "${2:?usage: check_install.sh MSI STUB_DLL}")
cd "$(dirname "$0")/../.."
wine=$(command -v wine64 || echo /usr/lib/wine/wine64)
export WINEDEBUG=-all WINEPREFIX
WINEPREFIX=$(mktemp -d "${TMPDIR:-/tmp}/raiiaf-wine-msi.XXXXXX")
trap 'wineserver -k 2>/dev/null || true; rm -rf -- "$WINEPREFIX"' EXIT
installed="$WINEPREFIX/drive_c/Program Files/RAIIAF Workbench"
failed=0
fail() { echo "FAIL: $*" >&2; failed=1; }
# value KEY [NAME]: the registry value (the default one without NAME), or nothing.
value() {
  local args=(reg query "HKLM\\Software\\Classes\\$1")
  if [ $# -gt 1 ]; then args+=(/v "$2"); else args+=(/ve); fi
  "$wine" "${args[@]}" 2>/dev/null | tr -d '\r' | awk -F'    ' 'NF >= 4 { print $4 }' | head -n 1
}

"$wine" msiexec /i "$msi" /qn >/dev/null 2>&1 || fail "msiexec /i failed"
[ -f "$installed/raiiaf.exe" ] || fail "raiiaf.exe is not in Program Files"
for type in raiiaf gen5; do
  progid="RaiiafWorkbench.$type"
  [ "$(value ".$type")" = "$progid" ] || fail ".$type does not name $progid: '$(value ".$type")'"
  [ "$(value "$progid\\shell\\open\\command")" = "\"C:\\Program Files\\RAIIAF Workbench\\raiiaf.exe\" \"%1\"" ] \
    || fail "$progid's open command: '$(value "$progid\\shell\\open\\command")'"
  [ "$(value "$progid\\DefaultIcon")" = "C:\\Program Files\\RAIIAF Workbench\\raiiaf-file.ico" ] \
    || fail "$progid's icon: '$(value "$progid\\DefaultIcon")'"
done
echo "install: files and registry in place"

# The double-click. The test-only stub DLL goes beside the installed exe.
cp "$stub" "$installed/bcryptprimitives.dll"
document="$PWD/tests/fixtures/f32_zfp.raiiaf"
xvfb-run -a "$wine" start /unix "$document" >/dev/null 2>&1 &
opened=""
for _ in $(seq 1 120); do
  # The started process's command line: the installed exe and the file, as Windows names it.
  opened=$(ps -eo args | grep -F 'RAIIAF Workbench\raiiaf.exe' | grep -F 'f32_zfp.raiiaf' | grep -v grep || true)
  [ -n "$opened" ] && break
  sleep 0.5
done
[ -n "$opened" ] && echo "double-click: started $opened" || fail "wine start /unix FILE did not start raiiaf.exe with the file"
pkill -f 'RAIIAF Workbench.raiiaf.exe' || true
sleep 2
rm -f "$installed/bcryptprimitives.dll"

"$wine" msiexec /x "$msi" /qn >/dev/null 2>&1 || fail "msiexec /x failed"
[ ! -e "$installed" ] || fail "uninstalling left $(ls "$installed")"
for key in .raiiaf .gen5 RaiiafWorkbench.raiiaf RaiiafWorkbench.gen5 'Applications\raiiaf.exe'; do
  "$wine" reg query "HKLM\\Software\\Classes\\$key" >/dev/null 2>&1 && fail "uninstalling left HKLM\\Software\\Classes\\$key"
done
[ "$failed" -eq 0 ] && echo "uninstall: every file and key removed"
exit "$failed"
