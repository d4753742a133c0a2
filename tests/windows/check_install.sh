#!/usr/bin/env bash
# The MSI under Wine, in a fresh Wine prefix: `msiexec /i` installs it, the registry then holds
# the file types, ProgIDs, icons and open commands; `wine start /unix FILE`, Windows' double-click
# path, starts the installed raiiaf.exe with that file, and a second double-click hands its file
# to that window; `msiexec /x` removes every file and key.
#   bash tests/windows/check_install.sh MSI STUB_DLL
# STUB_DLL: the test-only bcryptprimitives.dll tests/windows/run.sh builds (see check_cli.py).
set -euo pipefail
msi=$(realpath "${1:?usage: check_install.sh MSI STUB_DLL}")
stub=$(realpath "${2:?usage: check_install.sh MSI STUB_DLL}")
cd "$(dirname "$0")/../.."
wine=$(command -v wine64 || echo /usr/lib/wine/wine64)
export WINEDEBUG=-all WINEPREFIX
WINEPREFIX=$(mktemp -d "${TMPDIR:-/tmp}/raiiaf-wine-msi.XXXXXX")
trap 'wineserver -k 2>/dev/null || true; kill "${xvfb_pid:-}" 2>/dev/null || true; rm -rf -- "$WINEPREFIX"' EXIT
installed="$WINEPREFIX/drive_c/Program Files/RAIIAF Workbench"
# One virtual display from the start: the Wine desktop (explorer.exe) that msiexec starts is the
# one later windows open on, and it must have a display.
displayfile="$WINEPREFIX/display"
Xvfb -displayfd 3 -screen 0 1600x1000x24 -nolisten tcp 3>"$displayfile" >/dev/null 2>&1 &
xvfb_pid=$!
for _ in $(seq 1 50); do [ -s "$displayfile" ] && break; sleep 0.1; done
export DISPLAY=":$(cat "$displayfile")"
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

# The double-click, twice: the first starts the installed exe with its file, the second hands
# its file to that window (single instance, over the named pipe). The window writes a line per
# tab it opens to a log (RAIIAF_LOG_OPENED=FILE; what `start` runs has no stderr to read).
# The test-only stub DLL goes beside the installed exe.
cp "$stub" "$installed/bcryptprimitives.dll"
log="$WINEPREFIX/opened.log"
wine_log="Z:$(echo "$log" | tr / '\\')"
# wait_for_line TEXT [SECONDS]: waits (60 s unless told) for the log to hold TEXT.
wait_for_line() {
  for _ in $(seq 1 $((${2:-60} * 2))); do
    grep -qF "$1" "$log" 2>/dev/null && return 0
    sleep 0.5
  done
  return 1
}
first="tests/fixtures/f32_zfp.raiiaf"
second="tests/fixtures/gen5_zstd.gen5"
export RAIIAF_LOG_OPENED="$wine_log"
"$wine" start /unix "$PWD/$first" >/dev/null 2>&1 || fail "wine start /unix $first failed"
if wait_for_line "opened tab 1:" 240 && grep -q "opened tab 1: .*f32_zfp.raiiaf" "$log"; then
  echo "double-click: $(grep -F 'opened tab 1' "$log")"
  echo "double-click: running $(ps -eo args | grep -F 'RAIIAF Workbench\raiiaf.exe' | grep -v grep | head -n 1)"
  # A console program started by a double-click gets a console window of its own; the window
  # closes it, leaving only itself on the display.
  sleep 2
  windows=$(xwininfo -root -tree | grep -F '"raiiaf.exe"' || true)
  consoles=$(xwininfo -root -tree | grep -F 'RAIIAF Workbench\raiiaf.exe' || true)
  [ -n "$windows" ] || fail "no window of raiiaf.exe on the display"
  [ -z "$consoles" ] && echo "double-click: no console window left beside it" \
    || fail "a console window is left beside the window: $consoles"
  # The second double-click: `start /wait` returns once that raiiaf.exe has exited, which it
  # does at once after handing its file over.
  timeout 60 "$wine" start /wait /unix "$PWD/$second" >/dev/null 2>&1 || fail "the second double-click did not end"
  if wait_for_line "opened tab 2:" && grep -q "opened tab 2: .*gen5_zstd.gen5" "$log"; then
    echo "double-click again: $(grep -F 'opened tab 2' "$log") (the same window)"
    [ "$(pgrep -fc 'RAIIAF Workbench.raiiaf.exe')" -eq 1 ] || fail "a second raiiaf.exe is still running"
  else
    fail "the second double-click did not reach the running window: $(cat "$log")"
  fi
else
  fail "wine start /unix FILE did not open the file in the installed raiiaf.exe: $(cat "$log" 2>/dev/null)"
fi
unset RAIIAF_LOG_OPENED
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
