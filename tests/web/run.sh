#!/usr/bin/env bash
# The web page in headless Chromium: builds the site (packaging/web/build.sh) and the native
# binary, then tests/web/check_page.py. Screenshots go to target/web-screenshots.
set -euo pipefail
cd "$(dirname "$0")/../.."
site=target/web-site
bash packaging/web/build.sh "$site"
cargo build --quiet --bin raiiaf
mkdir -p target/web-screenshots
python3 tests/web/check_page.py "$site" "$PWD/target/debug/raiiaf" target/web-screenshots
