#!/usr/bin/env bash
# Renders the icon sources into the hicolor PNGs committed beside them (so installing needs no
# SVG renderer). Needs rsvg-convert (Debian: librsvg2-bin). Run after editing an SVG:
#   bash assets/icons/render.sh
#   raiiaf.svg       -> hicolor/NxN/apps/raiiaf-workbench.png             (application icon)
#   raiiaf-file.svg  -> hicolor/NxN/mimetypes/application-x-raiiaf.png     (document icon)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
command -v rsvg-convert >/dev/null || { echo "render.sh: rsvg-convert not found (apt-get install librsvg2-bin)" >&2; exit 1; }

for n in 16 24 32 48 64 128 256 512; do
  mkdir -p "$here/hicolor/${n}x${n}/apps" "$here/hicolor/${n}x${n}/mimetypes"
  rsvg-convert -w "$n" -h "$n" "$here/raiiaf.svg" -o "$here/hicolor/${n}x${n}/apps/raiiaf-workbench.png"
  rsvg-convert -w "$n" -h "$n" "$here/raiiaf-file.svg" -o "$here/hicolor/${n}x${n}/mimetypes/application-x-raiiaf.png"
done
