#!/usr/bin/env bash
# Installs the system packages RAIIAF Workbench needs to build and test, on Debian/Ubuntu.
#   build: cmake and libclang (zfp-sys builds LLNL's zfp and generates bindings with bindgen)
#   GUI tests and screenshots: Xvfb and Mesa's software Vulkan/GL drivers
#   desktop integration test (packaging/linux/test-install.sh): desktop-file-utils
#     (desktop-file-validate, update-desktop-database), shared-mime-info (update-mime-database),
#     xdg-utils (xdg-mime), libglib2.0-bin (gio) and libfile-mimeinfo-perl (mimetype, which
#     xdg-mime's generic path uses to read the shared MIME database)
# Idempotent: packages already present are skipped, so a second run costs a few dpkg queries.
set -euo pipefail

packages=(cmake libclang-dev clang pkg-config xvfb mesa-vulkan-drivers libgl1-mesa-dri libegl1
          libxkbcommon-x11-0 libx11-xcb1 python3 python3-venv
          desktop-file-utils shared-mime-info xdg-utils libglib2.0-bin libfile-mimeinfo-perl)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  sudo_cmd=(sudo)
fi
echo "setup: installing ${missing[*]}" >&2
"${sudo_cmd[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
