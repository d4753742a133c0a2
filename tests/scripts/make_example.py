#!/usr/bin/env python3
"""Makes the inputs of the sample file in assets/examples: a 512x512 PNG carrying
AUTOMATIC1111-style generation parameters, and the two latents as .npy. The sample itself is then
packed by this program:

    python3 tests/scripts/make_example.py /tmp/example
    raiiaf pack -o assets/examples/aurora.raiiaf --image /tmp/example/aurora.png \
        --latent initial_noise=/tmp/example/initial_noise.npy --latent final_latent=/tmp/example/final_latent.npy \
        --model sd-xl-base --model-version 1.0 --prompt "..." --settings @/tmp/example/settings.json
"""
import json
import os
import sys

import numpy as np
from PIL import Image, PngImagePlugin

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
size = 512
y, x = np.mgrid[0:size, 0:size] / size
sky = np.stack([0.05 + 0.2 * y, 0.1 + 0.5 * np.exp(-((y - 0.35 - 0.1 * np.sin(6 * x)) ** 2) / 0.01), 0.25 + 0.4 * (1 - y)], -1)
hills = (y > 0.7 + 0.08 * np.sin(5 * x + 1)).astype(float)[..., None]
rgb = np.clip(sky * (1 - hills) + hills * np.array([0.02, 0.05, 0.08]), 0, 1)
params = ("aurora over dark hills, long exposure\nNegative prompt: blurry, text\n"
          "Steps: 30, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7, Seed: 1234, Size: 512x512, Model: sd-xl-base")
info = PngImagePlugin.PngInfo()
info.add_text("parameters", params)
Image.fromarray((rgb * 255).astype(np.uint8), "RGB").save(os.path.join(out, "aurora.png"), pnginfo=info)
rng = np.random.default_rng(1234)
np.save(os.path.join(out, "initial_noise.npy"), rng.standard_normal((1, 4, 64, 64)).astype(np.float32))
lat = np.stack([np.sin((c + 1) * 3 * x[::8, ::8] + y[::8, ::8] * (c + 2)) for c in range(4)])[None].astype(np.float32)
np.save(os.path.join(out, "final_latent.npy"), lat)
with open(os.path.join(out, "settings.json"), "w") as f:
    json.dump({"seed": 1234, "steps": 30, "sampler": "DPM++ 2M", "scheduler": "karras", "cfg_scale": 7.0,
               "negative_prompt": "blurry, text"}, f)
