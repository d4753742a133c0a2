"""Writes the fuzz targets' seed files into tests/fuzz/seeds/ (committed; rerun to refresh).

Run with the reference's virtual environment (numpy, Pillow and zstandard), from the repository
root: `.venv/bin/python tests/fuzz/make_seeds.py`. The container targets are seeded with the
reference-written files in tests/fixtures and the project-written examples directly (run.sh).
"""

import io
import json
import pathlib
import struct
import zipfile

import numpy as np
import zstandard
from PIL import Image, PngImagePlugin

ROOT = pathlib.Path(__file__).resolve().parents[2]
SEEDS = ROOT / "tests" / "fuzz" / "seeds"


def write(target, name, data):
    folder = SEEDS / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)


def npy_bytes(array, fortran=False):
    out = io.BytesIO()
    np.save(out, np.asfortranarray(array) if fortran else array)
    return out.getvalue()


def safetensors_bytes(tensors, metadata=None):
    header, blobs, offset = {}, [], 0
    for name, array in tensors.items():
        data = np.ascontiguousarray(array).tobytes()
        dtype = {"float32": "F32", "float16": "F16", "float64": "F64"}[str(array.dtype)]
        header[name] = {"dtype": dtype, "shape": list(array.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def png_bytes(texts):
    info = PngImagePlugin.PngInfo()
    for key, value, compressed in texts:
        if compressed:
            info.add_itxt(key, value, zip=True)
        else:
            info.add_text(key, value)
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (40, 90, 200)).save(out, format="PNG", pnginfo=info)
    return out.getvalue()


A1111 = (
    "a lighthouse at dawn, volumetric light\n"
    "Negative prompt: blurry, lowres\n"
    'Steps: 30, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7, Seed: 1234567, Size: 1024x1024, '
    'Model hash: 31e35c80fc, Model: sd_xl_base_1.0, Lora hashes: "detail: 0a1b2c3d", Version: v1.10.1'
)
COMFY_PROMPT = json.dumps({
    "3": {"class_type": "KSampler", "inputs": {"seed": 42, "steps": 20, "cfg": 8.0, "sampler_name": "euler",
                                               "scheduler": "normal", "denoise": 1.0, "model": ["4", 0],
                                               "positive": ["6", 0], "negative": ["7", 0], "latent_image": ["5", 0]}},
    "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "v1-5-pruned-emaonly.safetensors"}},
    "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 512, "height": 512, "batch_size": 1}},
    "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a red fox in snow", "clip": ["4", 1]}},
    "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "watermark", "clip": ["4", 1]}},
})
COMFY_WORKFLOW = json.dumps({"last_node_id": 7, "nodes": [{"id": 3, "type": "KSampler", "widgets_values": [42, "fixed"]}]})


def exif_image_bytes(fmt, exif_tags, comment=None, big_endian=True):
    """An 8x8 image in `fmt` (JPEG or lossless WebP) whose EXIF holds `exif_tags` (IFD0) and, with
    `comment`, a UserComment in the Exif sub-IFD (the `UNICODE` prefix, then UTF-16)."""
    image = Image.new("RGB", (8, 8), (10, 20, 30))
    exif = image.getexif()
    for tag, value in exif_tags.items():
        exif[tag] = value
    if comment is not None:
        exif.get_ifd(0x8769)[0x9286] = b"UNICODE\0" + comment.encode("utf-16-be" if big_endian else "utf-16-le")
    out = io.BytesIO()
    image.save(out, fmt, exif=exif, **({"lossless": True} if fmt == "WEBP" else {}))
    return out.getvalue()


def manifest_json(path):
    data = path.read_bytes()
    magic_len, header_size = (6, 33) if data.startswith(b"raiiaf") else (4, 32)
    offset, size = struct.unpack_from("<II", data, magic_len + 3 if magic_len == 6 else 8)
    frame = data[offset:offset + size]
    return zstandard.ZstdDecompressor().decompress(frame)[12:]


def main():
    rng = np.random.default_rng(7)
    noise = rng.standard_normal((1, 4, 8, 8)).astype(np.float32)
    write("npy", "f32_4d.npy", npy_bytes(noise))
    write("npy", "f16_3d.npy", npy_bytes(noise[0].astype(np.float16)))
    write("npy", "f64_fortran.npy", npy_bytes(noise[0, 0].astype(np.float64), fortran=True))
    write("npy", "f32_big_endian.npy", npy_bytes(noise[0, :2].astype(">f4")))
    for compressed in (False, True):
        out = io.BytesIO()
        (np.savez_compressed if compressed else np.savez)(out, initial_noise=noise, final=noise[:, :2] * 0.5)
        write("npz", f"two_arrays{'_deflated' if compressed else ''}.npz", out.getvalue())
    write("latent", "comfyui.latent", safetensors_bytes(
        {"latent_tensor": noise, "latent_format_version_0": np.zeros(0, np.float32)}))
    write("latent", "old_f16.latent", safetensors_bytes({"latent_tensor": noise.astype(np.float16)},
                                                        {"format": "pt"}))
    write("png_params", "a1111.png", png_bytes([("parameters", A1111, False)]))
    write("png_params", "a1111_itxt.png", png_bytes([("parameters", A1111, True)]))
    write("png_params", "comfyui.png", png_bytes([("prompt", COMFY_PROMPT, False), ("workflow", COMFY_WORKFLOW, False)]))
    # image_params: the first byte 0 gives the rest as it is (see tests/fuzz/src/lib.rs).
    for name in ("a1111.png", "a1111_itxt.png", "comfyui.png"):
        write("image_params", name, b"\x00" + (SEEDS / "png_params" / name).read_bytes())
    civitai = A1111 + ', Civitai resources: [{"type":"checkpoint","modelVersionId":1}]'
    write("image_params", "a1111_exif.jpg", b"\x00" + exif_image_bytes("JPEG", {}, civitai))
    write("image_params", "a1111_exif.webp", b"\x00" + exif_image_bytes("WEBP", {}, civitai, big_endian=False))
    write("image_params", "comfyui_exif.webp", b"\x00" + exif_image_bytes("WEBP", {0x010F: "prompt:" + COMFY_PROMPT}))
    write("params_text", "a1111.txt", b"\x00" + A1111.encode())
    write("params_text", "comfyui.txt", b"\x01" + COMFY_PROMPT.encode() + b"\x00" + COMFY_WORKFLOW.encode())
    for name in ("multi_latent_zfp.raiiaf", "extra_keys.raiiaf", "two_gpus.raiiaf", "gen5_zstd.gen5"):
        write("manifest", name + ".json", manifest_json(ROOT / "tests" / "fixtures" / name))


if __name__ == "__main__":
    main()
