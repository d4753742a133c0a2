"""The drop-in: a reference script switched by one import line gives the same results, and is
stricter where the reference checks nothing."""

import numpy as np
import pytest

from conftest import FIXTURES, quiet, reference_handler
from raiiaf_workbench import FormatError, compat

RAIIAF_FIXTURES = [p for p in FIXTURES if p.suffix == ".raiiaf"]
assert len(RAIIAF_FIXTURES) >= 20, f"expected the committed fixtures, found {len(RAIIAF_FIXTURES)}"


@pytest.mark.parametrize("path", RAIIAF_FIXTURES, ids=lambda p: p.name)
def test_file_decoder_returns_the_references_structure_and_values(path):
    ours = compat.raiiafFileHandler().file_decoder(str(path))
    with quiet():
        theirs = reference_handler().file_decoder(str(path))
    assert ours.keys() == theirs.keys()
    assert ours["header"] == theirs["header"]
    assert ours["metadata"] == theirs["metadata"]
    assert ours["chunks"].keys() == theirs["chunks"].keys()
    assert ours["chunks"].get("image") == theirs["chunks"].get("image")
    for a, b in zip(ours["chunks"]["latent"], theirs["chunks"]["latent"], strict=True):
        assert a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == np.ascontiguousarray(b).tobytes()
        assert a.flags.writeable
    if "env" in theirs["chunks"]:
        env_ours, env_theirs = ours["chunks"]["env"], theirs["chunks"]["env"]
        assert env_ours.env_version == env_theirs.env_version
        assert env_ours.components == env_theirs.components


@pytest.mark.parametrize("compress", [True, False])
@pytest.mark.parametrize("float16", [True, False])
def test_file_encoder_writes_what_the_reference_reads_with_its_return_structure(compress, float16, tmp_path):
    rng = np.random.default_rng(11)
    latent = {"initial_noise": rng.standard_normal((1, 4, 16, 16)).astype(np.float32)}
    image = next(p for p in FIXTURES if p.name == "aurora.raiiaf")
    image_bytes = compat.raiiafFileHandler().file_decoder(str(image))["chunks"]["image"]
    records = []
    out = tmp_path / "compat.raiiaf"
    result = compat.raiiafFileHandler().file_encoder(
        str(out), latent, records, "sd", "1.5", "a cat", ["x"], image_bytes,
        should_compress=compress, convert_float16=float16,
        generation_settings={"seed": 1, "steps": 2, "sampler": "euler"}, extra_image={"note": "kept"},
    )
    assert set(result) == {"header", "latent_chunks", "metadata_chunk", "image_chunk"}
    data = out.read_bytes()
    assert data.startswith(result["header"]) and len(result["header"]) == compat.HEADER_SIZE
    assert result["latent_chunks"] in data and result["image_chunk"] in data
    assert data.endswith(result["metadata_chunk"])
    assert [r["type"] for r in records] == ["LATN", "DATA", "ENVC"]
    assert records[1]["extra"] == {"note": "kept"}
    assert compat.raiiafMetadata().metadata_parser(result["metadata_chunk"])["raiiaf_metadata"]["chunks"] == records
    with quiet():
        theirs = reference_handler().file_decoder(str(out))
    stored = theirs["chunks"]["latent"][0]
    expected = latent["initial_noise"].astype(np.float16) if float16 else latent["initial_noise"]
    assert stored.dtype == expected.dtype and np.ascontiguousarray(stored).tobytes() == expected.tobytes()
    assert theirs["chunks"]["image"] == image_bytes
    with pytest.raises(ValueError, match="must have a .raiiaf extension"):
        compat.raiiafFileHandler().file_encoder(str(tmp_path / "x.bin"), latent, [], "m", "v", "p", [], image_bytes)


def test_hashes_the_reference_ignores_raise_its_classes_with_our_message(tmp_path):
    path = next(p for p in RAIIAF_FIXTURES if p.name == "f32_raw.raiiaf")
    data = bytearray(path.read_bytes())
    data[compat.HEADER_SIZE + 20] ^= 0x01  # a latent value: only its hash notices
    damaged = tmp_path / "damaged.raiiaf"
    damaged.write_bytes(bytes(data))
    with quiet():
        reference_handler().file_decoder(str(damaged))  # the reference reads it without a word
    with pytest.raises(compat.raiiafLatentError) as caught:
        compat.raiiafFileHandler().file_decoder(str(damaged))
    error = caught.value
    assert isinstance(error, compat.raiiafChunkError) and isinstance(error, compat.raiiafDecodeError)
    assert isinstance(error, FormatError) and isinstance(error, ValueError)
    assert str(error).startswith("raiiaf Decode Error: Corrupt Chunk: Corrupt Latent: chunk.hash")
    bad_header = tmp_path / "header.raiiaf"
    bad_header.write_bytes(b"rAiiaf" + bytes(data[6:]))
    with pytest.raises(compat.raiiafCorruptHeader):
        compat.raiiafFileHandler().file_decoder(str(bad_header))


def test_helpers_match_the_references():
    from raiiaf.core.header import header_parse
    from raiiaf.chunks.metadata import raiiafMetadata

    data = RAIIAF_FIXTURES[0].read_bytes()
    assert compat.header_parse(data) == header_parse(data)
    assert compat.HEADER_SIZE == reference_handler().HEADER_SIZE
    header = compat.header_parse(data)
    table = data[header["chunk_table_offset"] : header["chunk_table_offset"] + header["chunk_table_size"]]
    assert compat.raiiafMetadata().metadata_parser(table) == raiiafMetadata().metadata_parser(table)
    with pytest.raises(compat.raiiafCorruptHeader, match="Header too small"):
        compat.header_parse(b"raiiaf")
    with pytest.raises(compat.raiiafMetadataError):
        compat.raiiafMetadata().metadata_parser(b"not zstd")
    image = compat.raiiafFileHandler.bytes_to_png(compat.raiiafFileHandler().file_decoder(str(RAIIAF_FIXTURES[0]))["chunks"]["image"])
    assert image.size[0] > 0
