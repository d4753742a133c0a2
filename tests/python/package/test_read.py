"""Reading: every fixture the reference wrote opens here with the reference's own values, and
`info()` is `raiiaf info --json`."""

import concurrent.futures
import json

import numpy as np
import pytest

import raiiaf_workbench as rw
from conftest import FIXTURES, fixture_id, quiet, reference_handler, run_raiiaf


@pytest.mark.parametrize("path", FIXTURES, ids=fixture_id)
def test_latents_image_and_manifest_equal_the_references(path):
    container = rw.open(path)
    assert container.ok and container.verdict == "valid" and not container.failures
    with quiet():
        decoded = reference_handler(path).file_decoder(str(path))
    arrays = decoded["chunks"]["latent"]
    assert len(container.latents) == len(arrays) > 0
    for (key, ours), theirs in zip(container.latents.items(), arrays):
        assert ours.dtype == theirs.dtype, key
        assert ours.shape == theirs.shape, key
        # Bit for bit, NaNs included.
        assert ours.tobytes() == np.ascontiguousarray(theirs).tobytes(), key
    assert container.image_bytes == decoded["chunks"].get("image")
    assert container.manifest == decoded["metadata"]


@pytest.mark.parametrize("path", FIXTURES, ids=fixture_id)
def test_info_is_what_raiiaf_info_json_prints(path, raiiaf_bin):
    run = run_raiiaf(raiiaf_bin, "info", "--json", path)
    assert run.returncode == 0, run.stderr
    assert rw.open(str(path)).info() == json.loads(run.stdout)


def test_latents_are_read_only_views_of_one_copy():
    container = rw.open(FIXTURES[0])
    key = next(iter(container.latents))
    first, again = container.latents[key], container.latents[key]
    assert first is again
    assert not first.flags.writeable and not first.flags.owndata
    with pytest.raises(ValueError):
        first[...] = 0
    # The container stays alive while an array does.
    array = rw.open(FIXTURES[0]).latents[key]
    assert np.array_equal(array, first, equal_nan=True)


def test_float16_stays_float16_and_several_latents_keep_their_names():
    f16 = rw.open(next(p for p in FIXTURES if p.name == "f16_zfp.raiiaf"))
    assert {a.dtype for a in f16.latents.values()} == {np.dtype("float16")}
    multi = rw.open(next(p for p in FIXTURES if p.name == "multi_latent_zfp.raiiaf"))
    assert len(multi.latents) >= 2
    with quiet():
        keys = [r["extra"]["key"] for r in multi.manifest["raiiaf_metadata"]["chunks"] if r["type"] == "LATN"]
    assert list(multi.latents) == keys


def test_bytes_file_objects_and_paths_give_the_same_container():
    path = FIXTURES[0]
    by_path = rw.open(path)
    by_bytes = rw.open(path.read_bytes())
    with open(path, "rb") as file:
        by_file = rw.open(file)
    for other in (by_bytes, by_file):
        assert other.manifest == by_path.manifest
        assert other.checks == by_path.checks
        assert [a.tobytes() for a in other.latents.values()] == [a.tobytes() for a in by_path.latents.values()]
    assert by_file.name == str(path) and by_bytes.name == "<bytes>"
    with pytest.raises(TypeError):
        rw.open(12)
    with open(path, "r", encoding="latin-1") as text_file, pytest.raises(TypeError):
        rw.open(text_file)


def test_image_is_a_pil_image_or_an_rgba_array():
    container = rw.open(next(p for p in FIXTURES if p.name == "aurora.raiiaf"))
    image = container.image
    from PIL import Image

    assert isinstance(image, Image.Image)
    width, height = image.size
    rgba = container._native.image_rgba()
    assert rgba[:2] == (width, height)
    pixels = np.frombuffer(rgba[2], dtype=np.uint8).reshape(height, width, 4)
    assert np.array_equal(pixels, np.asarray(image.convert("RGBA")))


def test_threads_open_files_concurrently_with_the_same_results():
    def digest(path):
        container = rw.open(path)
        return container.verdict, [a.tobytes() for a in container.latents.values()], container.image_bytes

    serial = [digest(p) for p in FIXTURES]
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        parallel = list(pool.map(digest, FIXTURES * 3))
    assert parallel == serial * 3


def test_limits_refuse_what_is_over_them_and_unknown_names():
    path = next(p for p in FIXTURES if p.name == "f32_raw.raiiaf")
    with pytest.raises(rw.FormatError) as caught:
        rw.open(path, limits={"max_latent_elements": 10})
    assert caught.value.verdict == "invalid"
    assert "limit" in str(caught.value)
    with pytest.raises(ValueError, match="unknown limit"):
        rw.open(path, limits={"max_latents": 10})
