#!/usr/bin/env python3
"""Drives the reference Python package (raiiaf 1.1.0, gen5 0.1.0) for RAIIAF Workbench's tests.

    reference.py make DIR        the reference writes one file per combination into DIR, each
                                 with NAME.expected.json: what the reference's own decoder returns
    reference.py degenerate DIR  the reference, its writer's shape and finiteness checks switched
                                 off, writes latents of degenerate shapes and values into DIR
                                 (its reader accepts them all): what the rendering sweep opens
    reference.py decode FILE...  prints, per file, what the reference's decoder returns (JSON lines)

"What the decoder returns" is, per latent: key, shape, dtype and the sha256 of the decoded
array's bytes (C order, little-endian); and the sha256 of the image bytes. The Rust tests
compare their own decode against these.
"""

import contextlib
import hashlib
import io
import json
import os
import struct
import sys
import warnings

import numpy as np

warnings.simplefilter("ignore")


def quiet(fn, *args, **kwargs):
    # The reference prints debug lines to stdout; keep stdout for our JSON.
    with contextlib.redirect_stdout(io.StringIO()):
        return fn(*args, **kwargs)


def decoded_summary(path):
    if path.endswith(".gen5") or open(path, "rb").read(4) == b"GEN5":
        from gen5.handlers.file_handler import Gen5FileHandler as Handler
        root = "gen5_metadata"
    else:
        from raiiaf.handlers.file_handler import raiiafFileHandler as Handler
        root = "raiiaf_metadata"
    result = quiet(Handler().file_decoder, path)
    records = [r for r in result["metadata"][root]["chunks"] if r["type"] == "LATN"]
    latents = []
    for record, array in zip(records, result["chunks"]["latent"]):
        array = np.ascontiguousarray(array)
        latents.append({
            "key": record["extra"].get("key"),
            "shape": list(array.shape),
            "dtype": str(array.dtype),
            "sha256": hashlib.sha256(array.astype(array.dtype.newbyteorder("<")).tobytes()).hexdigest(),
        })
    image = result["chunks"].get("image")
    schema_error = None
    if root == "raiiaf_metadata":
        from raiiaf.chunks.metadata import raiiafMetadata
        try:
            raiiafMetadata().metadata_validator(result["metadata"])
        except Exception as error:
            schema_error = str(error)
    return {
        "schema_error": schema_error,
        "latents": latents,
        "image_sha256": hashlib.sha256(image).hexdigest() if image is not None else None,
    }


def image_bytes(fmt, size=(48, 32)):
    from PIL import Image
    rng = np.random.default_rng(7)
    pixels = rng.integers(0, 255, size=(size[1], size[0], 4), dtype=np.uint8)
    buffer = io.BytesIO()
    image = Image.fromarray(pixels, "RGBA")
    if fmt == "JPEG":
        image = image.convert("RGB")
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def noise(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def smooth(shape):
    grids = np.meshgrid(*[np.linspace(0, 1, n) for n in shape], indexing="ij")
    return (np.sin(3 * sum(grids)) * 0.5).astype(np.float32)


SETTINGS = {"seed": 42, "steps": 30, "sampler": "euler_a", "cfg_scale": 7.5, "scheduler": "karras",
            "eta": 0.0, "guidance": "cfg", "precision": "fp16", "deterministic": True}
HARDWARE = {"machine_name": "lab-01", "os": "Linux 6.1.0-18-amd64", "cpu": "Test CPU", "cpu_cores": 8,
            "gpu": [{"name": "NVIDIA A100", "memory_gb": 80.0, "driver": "550.54", "cuda_version": "12.4"}],
            "ram_gb": 64.0, "framework": "torch 2.5.1", "compute_lib": "cuda 12.4"}


@contextlib.contextmanager
def patched(obj, name, value):
    old = getattr(obj, name)
    setattr(obj, name, value)
    try:
        yield
    finally:
        setattr(obj, name, old)


@contextlib.contextmanager
def any_rank():
    from raiiaf.chunks.latent import raiiafLatent
    original = raiiafLatent.latent_shape_validator
    with patched(raiiafLatent, "latent_shape_validator",
                 lambda self, a, expected_dims=4, max_dimension_size=8192: original(self, a, a.ndim, max_dimension_size)):
        yield


@contextlib.contextmanager
def unchecked_latents():
    from raiiaf.chunks.latent import raiiafLatent
    with patched(raiiafLatent, "latent_shape_validator", lambda self, a, *args, **kwargs: True), \
            patched(raiiafLatent, "latent_dtype_validator", lambda self, *args, **kwargs: True):
        yield


@contextlib.contextmanager
def zfp_accepts_float16():
    # zfpy cannot compress float16; the reference decoder casts to the flag's dtype, so a zfp
    # stream of the float32 upcast labelled F16 reads back as the exact float16 values.
    import raiiaf.chunks.latent as latent_module
    original = latent_module.compress_numpy
    with patched(latent_module, "compress_numpy",
                 lambda a, **kw: original(a.astype(np.float32) if a.dtype == np.float16 else a, **kw)):
        yield


@contextlib.contextmanager
def fake_gpus(names):
    import pynvml
    replacements = {
        "nvmlInit": lambda: None,
        "nvmlShutdown": lambda: None,
        "nvmlDeviceGetCount": lambda: len(names),
        "nvmlSystemGetDriverVersion": lambda: b"550.54.15",
        "nvmlDeviceGetHandleByIndex": lambda i: i,
        "nvmlDeviceGetName": lambda h: names[h].encode(),
    }
    with contextlib.ExitStack() as stack:
        for name, value in replacements.items():
            stack.enter_context(patched(pynvml, name, value))
        yield


def write_raiiaf(path, latents, compress, f16, image=b"PNG", settings=SETTINGS, hardware=HARDWARE, extra_image=None):
    from raiiaf.handlers.file_handler import raiiafFileHandler
    img = image_bytes(image) if isinstance(image, str) else (image_bytes("PNG") if image == b"PNG" else image)
    quiet(raiiafFileHandler().file_encoder, path, latents, [], "test-model", "1.0", "a red fox in snow",
          ["test", "fixture"], img, should_compress=compress, convert_float16=f16,
          generation_settings=settings, hardware_info=hardware, extra_image=extra_image)


def rewrite_with_raw_data(path):
    """Re-lays a reference file with its DATA chunk stored uncompressed (the reference reader
    understands this; its writer never produces it)."""
    import zstandard
    blob = open(path, "rb").read()
    header = list(struct.unpack("<6sBBBIIIQI", blob[:33]))
    meta = zstandard.ZstdDecompressor().decompress(blob[header[4]:header[4] + header[5]])
    manifest = json.loads(meta[12:12 + struct.unpack("<I", meta[8:12])[0]])
    chunks = []
    for record in manifest["raiiaf_metadata"]["chunks"]:
        raw = blob[record["offset"]:record["offset"] + record["compressed_size"]]
        if record["type"] == "DATA":
            raw = zstandard.ZstdDecompressor().decompress(raw)
            record["compressed"] = False
        chunks.append(raw)
    offset = 33
    for record, raw in zip(manifest["raiiaf_metadata"]["chunks"], chunks):
        record["offset"] = offset
        record["compressed_size"] = len(raw)
        offset += len(raw)
    body = json.dumps(manifest, indent=2).encode()
    meta_chunk = zstandard.ZstdCompressor().compress(struct.pack("<4s4sI", b"META", b"0000", len(body)) + body)
    header[4], header[5], header[7] = offset, len(meta_chunk), offset + len(meta_chunk)
    with open(path, "wb") as f:
        f.write(struct.pack("<6sBBBIIIQI", *header) + b"".join(chunks) + meta_chunk)


def write_gen5(path, latents, compress, f16):
    from gen5.handlers.file_handler import Gen5FileHandler
    quiet(Gen5FileHandler().file_encoder, path, latents, [], "test-model", "0.1", "a red fox in snow",
          ["test"], image_bytes("PNG"), should_compress=compress, convert_float16=f16,
          generation_settings=SETTINGS, hardware_info=HARDWARE)


def make(directory):
    os.makedirs(directory, exist_ok=True)
    sd = (1, 4, 8, 8)
    made = []

    def out(name):
        path = os.path.join(directory, name)
        made.append(path)
        return path

    write_raiiaf(out("f32_raw.raiiaf"), {"initial_noise": noise(sd)}, compress=False, f16=False)
    write_raiiaf(out("f32_zfp.raiiaf"), {"initial_noise": noise(sd)}, compress=True, f16=False)
    write_raiiaf(out("f16_raw.raiiaf"), {"initial_noise": noise(sd)}, compress=False, f16=True)
    with zfp_accepts_float16():
        write_raiiaf(out("f16_zfp.raiiaf"), {"initial_noise": noise(sd), "final": smooth(sd)}, compress=True, f16=True)
    write_raiiaf(out("multi_latent_zfp.raiiaf"),
                 {"initial_noise": noise(sd, 1), "final_latent": smooth(sd), "vae": smooth((1, 4, 6, 10))},
                 compress=True, f16=False)
    with any_rank():
        for rank in range(1, 9):
            shape = tuple([2] * (rank - 1) + [3]) if rank > 1 else (5,)
            write_raiiaf(out(f"rank{rank}_raw.raiiaf"), {"x": noise(shape, rank)}, compress=False, f16=False)
        for rank in range(1, 4):
            shape = tuple([3] * rank)
            write_raiiaf(out(f"rank{rank}_zfp.raiiaf"), {"x": smooth(shape)}, compress=True, f16=False)
    write_raiiaf(out("jpeg_image.raiiaf"), {"initial_noise": noise(sd)}, compress=False, f16=False, image="JPEG")
    write_raiiaf(out("webp_image.raiiaf"), {"initial_noise": noise(sd)}, compress=False, f16=False, image="WEBP")
    raw_data = out("raw_data_chunk.raiiaf")
    write_raiiaf(raw_data, {"initial_noise": noise(sd)}, compress=False, f16=False)
    rewrite_with_raw_data(raw_data)
    with fake_gpus(["NVIDIA A100-SXM4-80GB", "NVIDIA A100-SXM4-80GB"]):
        write_raiiaf(out("two_gpus.raiiaf"), {"initial_noise": noise(sd)}, compress=False, f16=False)
    write_raiiaf(out("extra_keys.raiiaf"), {"initial_noise": noise(sd)}, compress=True, f16=False,
                 settings=dict(SETTINGS, negative_prompt="blurry", loras=[{"name": "detail", "weight": 0.8}],
                               vae="sdxl-vae"),
                 hardware=dict(HARDWARE, notes={"rack": 3}), extra_image={"width": 48, "height": 32, "mode": "RGBA"})
    write_gen5(out("gen5_zstd.gen5"), {"initial_noise": noise(sd)}, compress=True, f16=False)
    write_gen5(out("gen5_raw_f16.gen5"), {"initial_noise": noise(sd)}, compress=False, f16=True)
    for path in made:
        with open(path + ".expected.json", "w") as f:
            json.dump(decoded_summary(path), f, indent=1)
            f.write("\n")
    print(json.dumps(made))


def degenerate(directory):
    os.makedirs(directory, exist_ok=True)
    specials = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0], np.float32)
    cases = {
        "zero_length_axis": np.zeros((1, 4, 0, 8), np.float32),
        "zero_length_rank1": np.zeros((0,), np.float32),
        "one_by_200000": noise((1, 200000)),
        "channels_5000": noise((1, 5000, 2, 2)),
        "rank6": noise((2, 1, 3, 1, 2, 3)),
        "rank9": noise((1, 2, 1, 2, 1, 2, 1, 2, 3)),
        "all_nan": np.full((1, 4, 8, 8), np.nan, np.float32),
        "plus_minus_inf": np.where(noise((1, 4, 8, 8)) > 0, np.inf, -np.inf).astype(np.float32),
        "nan_inf_mixed": np.resize(specials, (1, 4, 8, 8)),
        "scalar": np.array(3.5, np.float32),
    }
    with unchecked_latents():
        for name, array in cases.items():
            write_raiiaf(os.path.join(directory, name + ".raiiaf"), {"x": array}, compress=False, f16=False)
        # float16 overflow: finite float32 values past float16's range become +-Inf when stored.
        write_raiiaf(os.path.join(directory, "f16_overflow.raiiaf"), {"x": np.full((1, 4, 4, 4), 1e6, np.float32)},
                     compress=False, f16=True)
    print(json.dumps(sorted(os.listdir(directory))))


def main(argv):
    if len(argv) >= 2 and argv[0] == "degenerate":
        degenerate(argv[1])
        return 0
    if len(argv) >= 2 and argv[0] == "make":
        make(argv[1])
    elif len(argv) >= 1 and argv[0] == "decode":
        for path in argv[1:]:
            try:
                print(json.dumps(dict(decoded_summary(path), path=path)))
            except Exception as error:  # reported to the caller, who decides
                print(json.dumps({"path": path, "error": f"{type(error).__name__}: {error}"}))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
