#!/usr/bin/env bash
# Installs (or removes) RAIIAF Workbench's Linux desktop integration: the `raiiaf` binary, the
# freedesktop desktop entry, the shared-mime-info package for application/x-raiiaf and
# application/x-gen5, the hicolor icons, and the default-handler registration for both types.
#
#   packaging/linux/install.sh [--user|--system] [--bin PATH] [--uninstall] [--help]
#
# --user (default): ~/.local/bin/raiiaf, $XDG_DATA_HOME (~/.local/share) and $XDG_CONFIG_HOME
#   (~/.config)/mimeapps.list. --system: $PREFIX/bin and $PREFIX/share (PREFIX=/usr/local unless set
#   in the environment), defaults in $PREFIX/share/applications/mimeapps.list; needs root.
# Every file and directory it creates, and each default it replaces, is listed in
# <data dir>/raiiaf-workbench/install-manifest, so --uninstall removes exactly that, takes its
# entries out of mimeapps.list (other entries stay, replaced defaults come back) and refreshes the
# caches again. Cache tools (update-mime-database, update-desktop-database,
# gtk-update-icon-cache, xdg-mime) are used when present and skipped when not.
set -euo pipefail

app_id=raiiaf-workbench
desktop_id="$app_id.desktop"
mime_types=(application/x-raiiaf application/x-gen5)
icon_sizes=(16 24 32 48 64 128 256 512)

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$here/../.." && pwd)

usage() {
  cat <<EOF
usage: $0 [--user|--system] [--bin PATH] [--uninstall] [--help]

Installs the RAIIAF Workbench binary, desktop entry, MIME types (application/x-raiiaf,
application/x-gen5) and icons, and makes it the default application for both types.

  --user       for the current user (default): ~/.local/bin/raiiaf, \$XDG_DATA_HOME
               (default ~/.local/share), \$XDG_CONFIG_HOME/mimeapps.list (default ~/.config)
  --system     for every user: \$PREFIX/bin/raiiaf and \$PREFIX/share (PREFIX defaults to
               /usr/local); run as root (sudo)
  --bin PATH   the binary to install (default: target/release/raiiaf in the repository,
               $repo_root)
  --uninstall  remove what an earlier install put there, and refresh the caches
  --help       show this help
EOF
}

die() {
  echo "install.sh: $*" >&2
  exit 1
}
say() { echo "install.sh: $*"; }
have() { command -v "$1" >/dev/null 2>&1; }

mode=user
action=install
bin=""
while [ $# -gt 0 ]; do
  case "$1" in
    --user) mode=user ;;
    --system) mode=system ;;
    --uninstall) action=uninstall ;;
    --bin)
      [ $# -ge 2 ] || die "--bin needs a path"
      bin="$2"
      shift
      ;;
    --bin=*) bin="${1#--bin=}" ;;
    -h | --help)
      usage
      exit 0
      ;;
    *)
      usage >&2
      die "unknown argument: $1"
      ;;
  esac
  shift
done

if [ "$mode" = user ]; then
  [ -n "${HOME:-}" ] || die "HOME is not set"
  bin_dir="$HOME/.local/bin"
  data_dir="${XDG_DATA_HOME:-$HOME/.local/share}"
  mimeapps="${XDG_CONFIG_HOME:-$HOME/.config}/mimeapps.list"
else
  prefix="${PREFIX:-/usr/local}"
  bin_dir="$prefix/bin"
  data_dir="$prefix/share"
  mimeapps="$data_dir/applications/mimeapps.list"
fi
apps_dir="$data_dir/applications"
mime_dir="$data_dir/mime"
icons_dir="$data_dir/icons/hicolor"
manifest_dir="$data_dir/$app_id"
manifest="$manifest_dir/install-manifest"

# Every path this script may install, whether or not a manifest survives.
known_files=("$bin_dir/raiiaf" "$apps_dir/$desktop_id" "$mime_dir/packages/$app_id.xml"
             "$icons_dir/scalable/apps/$app_id.svg" "$icons_dir/scalable/mimetypes/application-x-raiiaf.svg")
for n in "${icon_sizes[@]}"; do
  known_files+=("$icons_dir/${n}x${n}/apps/$app_id.png" "$icons_dir/${n}x${n}/mimetypes/application-x-raiiaf.png")
done

created=() # manifest lines: "d DIR" / "f FILE" created, "c FILE" mimeapps.list created, "m TYPE=OLD" default replaced

# mkdir -p that remembers each directory it had to create.
make_dir() {
  local dir="$1" missing=()
  while [ ! -d "$dir" ]; do
    missing=("$dir" "${missing[@]}")
    dir=$(dirname "$dir")
  done
  for dir in "${missing[@]}"; do
    mkdir "$dir"
    created+=("d $dir")
  done
}

# put SOURCE DEST MODE
put() {
  make_dir "$(dirname "$2")"
  install -m "$3" "$1" "$2"
  created+=("f $2")
}

# Sets TYPE=desktop_id in [Default Applications] of FILE for each type (the fallback when xdg-mime
# is missing, and the --system registration); other lines are kept as they are.
mimeapps_set() {
  local file="$1"
  shift
  make_dir "$(dirname "$file")"
  [ -f "$file" ] || : >"$file"
  local tmp
  tmp=$(mktemp)
  awk -v app="$desktop_id" -v types="$*" '
    BEGIN { n = split(types, t, " "); for (i = 1; i <= n; i++) want[t[i]] = 1 }
    function flush_missing(   i) {
      for (i = 1; i <= n; i++) if (!(t[i] in done)) { print t[i] "=" app; done[t[i]] = 1 }
    }
    function flush_blanks() { for (; blanks > 0; blanks--) print "" }
    /^[ \t]*$/ { blanks++; next }
    /^\[/ {
      if (indef) flush_missing()
      flush_blanks()
      indef = ($0 == "[Default Applications]")
      if (indef) seen = 1
      print
      next
    }
    { flush_blanks() }
    indef && index($0, "=") {
      key = substr($0, 1, index($0, "=") - 1)
      if (key in want) { if (!(key in done)) print key "=" app; done[key] = 1; next }
    }
    { print }
    END {
      if (indef) flush_missing()
      flush_blanks()
      if (!seen) { print "[Default Applications]"; flush_missing() }
    }' "$file" >"$tmp"
  cat "$tmp" >"$file"
  rm -f "$tmp"
}

# The value of TYPE in [Default Applications] of FILE, or nothing.
mimeapps_get() {
  [ -f "$1" ] || return 0
  awk -v type="$2" '
    /^\[/ { indef = ($0 == "[Default Applications]"); next }
    indef && index($0, type "=") == 1 { print substr($0, length(type) + 2); exit }' "$1"
}

# Takes desktop_id out of the values of our types in [Default Applications] and
# [Added Associations] of FILE. A default that was only ours goes back, in place, to what it was
# before the install (RESTORE: "type=value" words from the manifest) or else goes; a section left
# empty goes; a file left with no entries at all is deleted if the install created it (DELETE=1).
# mimeapps_remove FILE RESTORE DELETE
mimeapps_remove() {
  local file="$1"
  [ -f "$file" ] || return 0
  local tmp
  tmp=$(mktemp)
  RESTORE="${2:-}" awk -v app="$desktop_id" -v types="${mime_types[*]}" '
    BEGIN {
      n = split(types, t, " "); for (i = 1; i <= n; i++) ours[t[i]] = 1
      r = split(ENVIRON["RESTORE"], rs, " ")
      for (i = 1; i <= r; i++) { e = index(rs[i], "="); if (e) restore[substr(rs[i], 1, e - 1)] = substr(rs[i], e + 1) }
    }
    function flush(   i) {
      if (!(touched && entries == 0)) for (i = 1; i <= nbuf; i++) print buf[i]
      nbuf = 0; touched = 0; entries = 0
    }
    /^\[/ { flush(); sect = $0; buf[++nbuf] = $0; next }
    {
      line = $0
      eq = index(line, "=")
      if (eq && (sect == "[Default Applications]" || sect == "[Added Associations]") &&
          (substr(line, 1, eq - 1) in ours)) {
        m = split(substr(line, eq + 1), v, ";")
        kept = ""; had = 0
        for (j = 1; j <= m; j++) {
          if (v[j] == app) had = 1
          else if (v[j] != "") kept = kept v[j] ";"
        }
        if (had) {
          touched = 1
          key = substr(line, 1, eq - 1)
          if (kept == "" && sect == "[Default Applications]" && (key in restore)) kept = restore[key]
          if (kept == "") next
          line = key "=" kept
        }
      }
      if (eq && line !~ /^[ \t]*#/) entries++
      buf[++nbuf] = line
    }
    END { flush() }' "$file" >"$tmp"
  if [ "${3:-0}" = 1 ] && ! grep -q '=' "$tmp"; then
    rm -f "$file"
  else
    cmp -s "$tmp" "$file" || cat "$tmp" >"$file"
  fi
  rm -f "$tmp"
}

# The Exec= value for the installed binary: its absolute path (so the entry works even where
# ~/.local/bin is not on the session's PATH), double-quoted when it has spaces, or plain `raiiaf`
# when it has characters the desktop entry quoting rules would need escapes for.
exec_path() {
  local p="$1"
  if [[ "$p" =~ ^[A-Za-z0-9/._+-]+$ ]]; then
    printf '%s' "$p"
  elif [[ "$p" != *[\"\`\$\\%]* && "$p" != *$'\n'* ]]; then
    printf '"%s"' "$p"
  else
    printf 'raiiaf'
  fi
}

refresh_caches() {
  if [ -d "$mime_dir/packages" ]; then
    if [ -n "$(ls -A "$mime_dir/packages")" ]; then
      if have update-mime-database; then
        update-mime-database "$mime_dir" >/dev/null
      else
        say "update-mime-database not found (package shared-mime-info): MIME types not refreshed"
      fi
    elif [ "$(basename "$mime_dir")" = mime ]; then
      # No package is left: everything else in this directory was generated from packages/.
      rm -rf -- "$mime_dir"
    fi
  fi
  if [ -d "$apps_dir" ]; then
    if [ -n "$(find "$apps_dir" -name '*.desktop' -print -quit)" ]; then
      if have update-desktop-database; then
        update-desktop-database -q "$apps_dir" || say "update-desktop-database failed (ignored)"
      fi
    else
      rm -f "$apps_dir/mimeinfo.cache"
    fi
  fi
  if [ -d "$icons_dir" ]; then
    # A theme cache is only kept up to date where one is already maintained; elsewhere the
    # directory's new modification time tells running programs to look again.
    if [ -f "$icons_dir/icon-theme.cache" ] && have gtk-update-icon-cache; then
      gtk-update-icon-cache -q -f -t "$icons_dir" || say "gtk-update-icon-cache failed (ignored)"
    else
      touch "$icons_dir"
    fi
  fi
}

write_manifest() {
  make_dir "$manifest_dir"
  local tmp
  tmp=$(mktemp)
  {
    [ -f "$manifest" ] && cat "$manifest"
    printf '%s\n' "${created[@]}" "f $manifest"
  } | awk '!seen[$0]++' >"$tmp"
  install -m 644 "$tmp" "$manifest"
  rm -f "$tmp"
}

check_writable() {
  local dir="$1"
  while [ ! -e "$dir" ]; do dir=$(dirname "$dir"); done
  [ -w "$dir" ] || die "cannot write to $dir${2:+ ($2)}"
}

do_install() {
  [ -n "$bin" ] || bin="$repo_root/target/release/raiiaf"
  if [ ! -f "$bin" ] || [ ! -x "$bin" ]; then
    die "binary not found or not executable: $bin -- build it with cargo build --release or pass --bin PATH"
  fi
  local hint=""
  [ "$mode" = system ] && hint="run as root, e.g. sudo $0 --system"
  check_writable "$bin_dir" "$hint"
  check_writable "$data_dir" "$hint"

  local f
  for f in "$here/$desktop_id" "$here/$app_id.xml" "$repo_root/assets/icons/raiiaf.svg" \
           "$repo_root/assets/icons/raiiaf-file.svg"; do
    [ -f "$f" ] || die "missing source file $f"
  done

  put "$bin" "$bin_dir/raiiaf" 755

  local desktop_tmp exec_value try_value line
  desktop_tmp=$(mktemp)
  exec_value=$(exec_path "$bin_dir/raiiaf")
  try_value="$bin_dir/raiiaf"
  if [ "$exec_value" = raiiaf ]; then
    say "warning: $bin_dir has characters a desktop entry cannot hold unescaped; the entry runs 'raiiaf' from PATH"
    try_value=raiiaf
  fi
  while IFS= read -r line; do
    case "$line" in
      "Exec=raiiaf "*) line="Exec=$exec_value ${line#Exec=raiiaf }" ;;
      "TryExec=raiiaf") line="TryExec=$try_value" ;;
    esac
    printf '%s\n' "$line"
  done <"$here/$desktop_id" >"$desktop_tmp"
  put "$desktop_tmp" "$apps_dir/$desktop_id" 644
  rm -f "$desktop_tmp"

  put "$here/$app_id.xml" "$mime_dir/packages/$app_id.xml" 644

  local n
  for n in "${icon_sizes[@]}"; do
    for f in "apps/$app_id.png" "mimetypes/application-x-raiiaf.png"; do
      [ -f "$repo_root/assets/icons/hicolor/${n}x${n}/$f" ] ||
        die "missing icon $repo_root/assets/icons/hicolor/${n}x${n}/$f (bash assets/icons/render.sh)"
      put "$repo_root/assets/icons/hicolor/${n}x${n}/$f" "$icons_dir/${n}x${n}/$f" 644
    done
  done
  put "$repo_root/assets/icons/raiiaf.svg" "$icons_dir/scalable/apps/$app_id.svg" 644
  put "$repo_root/assets/icons/raiiaf-file.svg" "$icons_dir/scalable/mimetypes/application-x-raiiaf.svg" 644

  # The directory of mimeapps.list goes into the manifest too, when this creates it, and so do
  # the defaults this replaces, for --uninstall to put back.
  make_dir "$(dirname "$mimeapps")"
  [ -e "$mimeapps" ] || created+=("c $mimeapps")
  local t previous
  for t in "${mime_types[@]}"; do
    [ -f "$manifest" ] && grep -q "^m $t=" "$manifest" && continue
    previous=$(mimeapps_get "$mimeapps" "$t")
    case "$previous" in
      "" | "$desktop_id" | "$desktop_id;" | *" "*) ;;
      *) created+=("m $t=$previous") ;;
    esac
  done
  write_manifest
  refresh_caches

  if [ "$mode" = user ] && have xdg-mime; then
    XDG_CONFIG_HOME="$(dirname "$mimeapps")" xdg-mime default "$desktop_id" "${mime_types[@]}"
  else
    mimeapps_set "$mimeapps" "${mime_types[@]}"
  fi

  say "installed $bin_dir/raiiaf, $apps_dir/$desktop_id, $mime_dir/packages/$app_id.xml and icons in $icons_dir"
  say "default application for ${mime_types[*]}: $desktop_id (in $mimeapps)"
  if [ "$mode" = user ] && [[ ":${PATH:-}:" != *":$bin_dir:"* ]]; then
    say "note: $bin_dir is not on PATH; add it to run 'raiiaf' from a terminal"
  fi
}

do_uninstall() {
  local hint=""
  [ "$mode" = system ] && hint="run as root, e.g. sudo $0 --system --uninstall"
  check_writable "$data_dir" "$hint"
  local line path dirs=() files=() restore=() mimeapps_created=0
  if [ -f "$manifest" ]; then
    while IFS= read -r line; do
      case "$line" in
        "d "*) dirs+=("${line#d }") ;;
        "f "*) files+=("${line#f }") ;;
        "m "*) restore+=("${line#m }") ;;
        "c $mimeapps") mimeapps_created=1 ;;
      esac
    done <"$manifest"
  fi
  files+=("${known_files[@]}" "$manifest")

  mimeapps_remove "$mimeapps" "${restore[*]}" "$mimeapps_created"
  for path in "${files[@]}"; do
    rm -f -- "$path"
  done
  refresh_caches
  # Then the directories the install created, deepest first, where nothing else is in them now.
  if [ ${#dirs[@]} -gt 0 ]; then
    while IFS= read -r path; do
      if [ -d "$path" ]; then rmdir -- "$path" 2>/dev/null || true; fi
    done < <(printf '%s\n' "${dirs[@]}" | awk '{ print length($0) "\t" $0 }' | sort -rn | cut -f2-)
  fi
  say "removed RAIIAF Workbench from $bin_dir and $data_dir; refreshed the caches"
}

if [ "$action" = install ]; then
  do_install
else
  do_uninstall
fi
