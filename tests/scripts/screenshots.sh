#!/usr/bin/env bash
# Runs the real binary in a virtual X server with --screenshot: once per tab, once comparing two
# files, once verifying a folder (FOLDER, default tests/fixtures), once showing a generated image's
# parameters and once planning a batch of images with latents; checks that every PNG was
# written at the window's size. Used by tests/scripts/test.sh, and to refresh the README's pictures:
#   bash tests/scripts/screenshots.sh assets/examples/aurora.raiiaf assets/screenshots
set -euo pipefail
cd "$(dirname "$0")/../.."

file="${1:-assets/examples/aurora.raiiaf}"
out="${2:-target/screenshots}"
binary="${RAIIAF_BIN:-target/debug/raiiaf}"
size="1280x860"
mkdir -p "$out"
[ -x "$binary" ] || cargo build --quiet

# shoot NAME ARGS...: one run of `raiiaf view ARGS... --screenshot OUT/NAME.png`, checked.
shoot() {
  local name="$1"
  shift
  rm -f "$out/$name.png"
  # The probe's Python is this machine's python3; a fresh Xvfb per run keeps runs independent.
  xvfb-run -a -s "-screen 0 1600x1000x24" "$binary" view "$@" --size "$size" \
    --screenshot "$out/$name.png" 2> >(grep -v XDG_RUNTIME_DIR >&2)
  python3 - "$out/$name.png" "$size" <<'PY'
import struct, sys
path, size = sys.argv[1], sys.argv[2]
with open(path, "rb") as f:
    head = f.read(24)
assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
width, height = struct.unpack(">II", head[16:24])
want = tuple(int(v) for v in size.split("x"))
assert (width, height) == want, f"{path} is {width}x{height}, expected {want}"
print(f"{path}: {width}x{height}")
PY
}

for tab in latents image manifest chunks environment; do
  shoot "$tab" "$file" --tab "$tab"
done
# Two runs compared, and a folder verified.
shoot compare assets/examples/aurora.raiiaf assets/examples/aurora-rerun.raiiaf --compare --tab image
shoot verify-folder "${FOLDER:-tests/fixtures}"
# The example's image on its own (its generation parameters), and a batch of images with latents.
work=$(mktemp -d)
"$binary" extract assets/examples/aurora.raiiaf -o "$work/extracted" >/dev/null
shoot generated-image "$work/extracted/image.png"
mkdir "$work/batch"
for name in dusk night dawn; do cp "$work/extracted/image.png" "$work/batch/$name.png"; done
cp "$work/extracted/initial_noise.npy" "$work/batch/dusk.npy"
cp "$work/extracted/initial_noise.npy" "$work/batch/night_initial_noise.npy"
cp "$work/extracted/final_latent.npy" "$work/batch/night_final_latent.npy"
shoot batch "$work/batch"/*
rm -rf "$work"
# When wgpu cannot start (here: Vulkan asked for, and no Vulkan driver to find), the window falls
# back to glow (OpenGL) and says so.
log=$(mktemp)
WGPU_BACKEND=vulkan VK_ICD_FILENAMES=/nonexistent.json shoot glow-fallback "$file" 2> "$log" || { cat "$log" >&2; exit 1; }
grep -q "the wgpu renderer could not start" "$log" && grep -q "drawing with glow" "$log" \
  || { echo "screenshots: no fallback to glow:" >&2; cat "$log" >&2; exit 1; }
echo "screenshots: wgpu failed to start and the window fell back to glow"
rm -f "$log"
