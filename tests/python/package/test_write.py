"""Writing: every file rw.pack writes reads back in the reference with equal latents, image
and metadata, and every file the reference writes from the same inputs reads here."""

import contextlib
import json
import sys

import numpy as np
import pytest

import raiiaf_workbench as rw
from conftest import FIXTURES, ROOT, fixture_id, quiet, reference_handler

sys.path.insert(0, str(ROOT / "tests/scripts"))
from reference import HARDWARE, zfp_accepts_float16  # noqa: E402 - the fixtures' own writer

RAIIAF_FIXTURES = [p for p in FIXTURES if p.suffix == ".raiiaf"]
assert len(RAIIAF_FIXTURES) >= 20, f"expected the committed fixtures, found {len(RAIIAF_FIXTURES)}"


def inputs_of(path):
    """What the reference needs to write `path` again: latents, image, model info."""
    container = rw.open(path)
    info = container.model_info
    return container, {key: np.array(value) for key, value in container.latents.items()}, info


@pytest.mark.parametrize("codec", ["raw", "zfp", "auto"])
@pytest.mark.parametrize("path", RAIIAF_FIXTURES, ids=fixture_id)
def test_the_reference_reads_what_pack_writes(path, codec, tmp_path):
    container, latents, info = inputs_of(path)
    out = tmp_path / "ours.raiiaf"
    arguments = dict(
        image=container.image_bytes,
        latents=latents,
        model_name=info["model_name"],
        model_version=info["version"],
        prompt=info["prompt"],
        tags=info.get("tags", []),
        settings=info.get("generation_settings"),
        codec=codec,
        environment=container,
    )
    if codec == "zfp" and any(a.ndim > 4 for a in latents.values()):
        # As `raiiaf pack --codec zfp`: zfp streams hold 1-D to 4-D arrays.
        with pytest.raises(ValueError, match="needs raw or auto"):
            rw.pack(out, **arguments)
        return
    packed = rw.pack(out, **arguments)
    assert packed.path == str(out) and packed.size == out.stat().st_size
    with quiet():
        decoded = reference_handler().file_decoder(str(out))
    arrays = decoded["chunks"]["latent"]
    assert len(arrays) == len(latents)
    for (key, ours), theirs in zip(latents.items(), arrays):
        assert theirs.dtype == ours.dtype and theirs.shape == ours.shape, key
        assert np.ascontiguousarray(theirs).tobytes() == ours.tobytes(), key
    assert decoded["chunks"]["image"] == container.image_bytes
    model_info = decoded["metadata"]["raiiaf_metadata"]["model_info"]
    for field in ("model_name", "version", "prompt", "tags", "generation_settings"):
        assert model_info.get(field) == info.get(field), field
    # And it reads back here, valid, with the same values.
    again = rw.open(out)
    assert [a.tobytes() for a in again.latents.values()] == [a.tobytes() for a in latents.values()]


@pytest.mark.parametrize("compress", [True, False])
@pytest.mark.parametrize("float16", [True, False])
def test_files_the_reference_writes_read_here(compress, float16, tmp_path):
    rng = np.random.default_rng(7)
    latents = {
        "initial_noise": rng.standard_normal((1, 4, 32, 32)).astype(np.float32),
        "final_latent": rng.standard_normal((1, 4, 16, 24)).astype(np.float32),
    }
    image = rw.open(next(p for p in FIXTURES if p.name == "aurora.raiiaf")).image_bytes
    out = tmp_path / "theirs.raiiaf"
    settings = {"seed": 3, "steps": 20, "sampler": "euler", "cfg_scale": 7.0}
    # The reference refuses its own defaults' float16 with zfp (zfpy has no float16): the
    # fixtures' writer patches that in, and so does this.
    with quiet(), (zfp_accepts_float16() if compress and float16 else contextlib.nullcontext()):
        reference_handler().file_encoder(
            str(out), latents, [], "sd-test", "1.5", "a cat", ["t"], image,
            should_compress=compress, convert_float16=float16, generation_settings=settings,
            hardware_info=HARDWARE,
        )
        decoded = reference_handler().file_decoder(str(out))
    container = rw.open(out)
    for (key, ours), theirs in zip(container.latents.items(), decoded["chunks"]["latent"]):
        assert ours.dtype == theirs.dtype == (np.float16 if float16 else np.float32), key
        assert ours.tobytes() == np.ascontiguousarray(theirs).tobytes(), key
    assert container.model_info["generation_settings"] == settings


def test_pack_accepts_anything_with_array_and_float64_with_a_warning(tmp_path):
    class Tensor:
        """Stands in for a CPU torch tensor: only __array__."""

        def __init__(self, values):
            self.values = values

        def __array__(self, dtype=None, copy=None):
            return self.values

    values = np.linspace(-1, 1, 64, dtype=np.float64).reshape(1, 1, 8, 8)
    image = rw.open(FIXTURES[0]).image_bytes
    with pytest.warns(UserWarning, match="float64 array stored as float32"):
        packed = rw.pack(None, image=image, latents={"x": Tensor(values)}, model_name="m", model_version="1", prompt="p", environment=None)
    stored = rw.open(packed.data).latents["x"]
    assert stored.dtype == np.float32 and np.array_equal(stored, values.astype(np.float32))
    # Non-contiguous input is stored in logical order.
    transposed = np.arange(12, dtype=np.float32).reshape(3, 4).T
    packed = rw.pack(None, image=image, latents={"t": transposed}, model_name="m", model_version="1", prompt="p", environment=None)
    assert np.array_equal(rw.open(packed.data).latents["t"], transposed)


def test_pack_refuses_what_raiiaf_pack_refuses(tmp_path):
    image = rw.open(FIXTURES[0]).image_bytes
    good = {"x": np.zeros((1, 4, 8, 8), np.float32)}
    common = dict(image=image, model_name="m", model_version="1", prompt="p", environment=None)
    with pytest.raises(ValueError, match="at least one latent"):
        rw.pack(None, latents={}, **common)
    with pytest.raises(ValueError, match="not float16, float32 or float64"):
        rw.pack(None, latents={"i": np.zeros(4, np.int64)}, **common)
    with pytest.raises(ValueError, match="not a readable PNG, JPEG or WebP"):
        rw.pack(None, latents=good, **{**common, "image": b"not an image"})
    with pytest.raises(ValueError, match="steps"):
        rw.pack(None, latents=good, settings={"seed": 1, "steps": 0, "sampler": "euler"}, **common)
    with pytest.raises(ValueError):
        rw.pack(None, latents={"n": np.full(4, np.nan, np.float32)}, codec="zfp", **common)
    with pytest.raises(TypeError, match="model_name"):
        rw.pack(None, image=image, latents=good, model_version="1", prompt="p")
    out = tmp_path / "kept.raiiaf"
    out.write_bytes(b"precious")
    with pytest.raises(OSError, match="exists"):
        rw.pack(out, latents=good, **common)
    assert out.read_bytes() == b"precious"
    rw.pack(out, latents=good, overwrite=True, **common)
    assert rw.open(out).ok


def test_environment_is_probed_copied_or_left_out():
    image = rw.open(FIXTURES[0]).image_bytes
    latents = {"x": np.zeros((1, 4, 8, 8), np.float32)}
    common = dict(image=image, latents=latents, model_name="m", model_version="1", prompt="p")
    probed = rw.open(rw.pack(None, **common).data)
    ids = [c["component_id"] for c in probed.environment]
    assert "python" in ids and "numpy" in ids and "os" in ids, ids
    python = next(c for c in probed.environment if c["component_id"] == "python")
    import platform

    assert platform.python_version() in python["canonical"]
    assert probed.model_info["hardware_info"]["os"]
    source = rw.open(next(p for p in FIXTURES if p.name == "two_gpus.raiiaf"))
    copied = rw.open(rw.pack(None, environment=source, **common).data)
    assert copied.environment == source.environment
    empty = rw.open(rw.pack(None, environment=None, **common).data)
    assert empty.environment == [] and empty.ok


def test_import_params_reads_the_images_parameters(tmp_path):
    from PIL import Image, PngImagePlugin

    text = "a lighthouse at dusk\nNegative prompt: blurry\nSteps: 25, Sampler: Euler a, CFG scale: 6, Seed: 1234, Model: juggernaut"
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", text)
    path = tmp_path / "a1111.png"
    Image.new("RGB", (16, 16), (200, 100, 50)).save(path, pnginfo=info)
    packed = rw.pack(None, image=str(path), latents={"x": np.zeros((1, 4, 2, 2), np.float32)}, import_params=True, environment=None)
    model_info = rw.open(packed.data).model_info
    assert model_info["prompt"] == "a lighthouse at dusk"
    assert model_info["generation_settings"]["seed"] == 1234
    assert model_info["model_name"] == "juggernaut"
    assert rw.params(str(path))["generator"] == rw.params(path.read_bytes())["generator"] is not None
    assert json.loads(json.dumps(packed.manifest)) == rw.open(packed.data).manifest
