"""A drop-in for the reference package's API (``raiiaf`` 1.1.0).

Switching a script is one line::

    # from raiiaf import raiiafFileHandler
    from raiiaf_workbench.compat import raiiafFileHandler

``file_encoder`` and ``file_decoder`` take the same parameters and return the same structures;
the files are this package's, which the reference reads back. Where this package is stricter
(it checks every hash and digest the reference only writes), a bad file raises the reference's
exception class with this package's message; every class here is also a
:class:`raiiaf_workbench.FormatError` (a ``ValueError``).

Differences, on purpose:

- ``file_decoder`` does not print debugging lines, nor compare the file's environment with
  this machine's (``raiiaf_workbench.diff`` and the window do that); its latent arrays are
  writable copies, as the reference's zfp arrays are.
- ``file_encoder`` records this machine's real hardware info when none is given (the reference
  writes empty placeholders), and no ``generation_settings`` when none are given (the
  reference writes zeros, which its own schema allows but which record nothing).
"""

from __future__ import annotations

import io
import json
import struct
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

import numpy as np

from . import _native
from ._api import pack
from ._container import Container, _native_open
from ._errors import FormatError

# The reference's limits and header layout (raiiaf.core.constants).
MAX_FILE_SIZE = 10 * 1024 * 1024 * 1024
MAX_CHUNK_SIZE = 2 * 1024 * 1024 * 1024
MAX_CHUNKS = 1000
HEADER_FORMAT = "<6sBBBIIIQI"
HEADER_SIZE = struct.calcsize(HEADER_FORMAT)


class raiiafDecodeError(FormatError):  # noqa: N801 - the reference's names
    """Base error for decoding and validation failures."""

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(f"raiiaf Decode Error: {message}", **details)


class raiiafCorruptHeader(raiiafDecodeError):  # noqa: N801
    """The header is corrupt or invalid."""

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(f"Corrupt header: {message}", **details)


class raiiafMetadataError(raiiafDecodeError):  # noqa: N801
    """The manifest is invalid or cannot be parsed."""

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(f"Corrupt Metadata: {message}", **details)


class raiiafChunkError(raiiafDecodeError):  # noqa: N801
    """A chunk is truncated, out of bounds or does not match its record."""

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(f"Corrupt Chunk: {message}", **details)


class raiiafLatentError(raiiafChunkError):  # noqa: N801
    """A latent (LATN) chunk is bad."""

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(f"Corrupt Latent: {message}", **details)


class raiiafImageError(raiiafChunkError):  # noqa: N801
    """The image (DATA) chunk is bad, or an image cannot be converted."""

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(f"Corrupt Image: {message}", **details)


class raiiafEnvChunkError(raiiafChunkError):  # noqa: N801
    """The environment (ENVC) chunk is bad."""

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(f"Corrupt Environment Chunk: {message}", **details)


_CHUNK_ERRORS = {"LATN": raiiafLatentError, "DATA": raiiafImageError, "ENVC": raiiafEnvChunkError}


def _error_class(code: Optional[str], location: str) -> type:
    """The reference's class for a failed check (by its code and where it is)."""
    code = code or ""
    if code.startswith("header.") or code in ("not_raiiaf", "unsupported_version"):
        return raiiafCorruptHeader
    if code.startswith("manifest."):
        return raiiafMetadataError
    if code.startswith("envc."):
        return raiiafEnvChunkError
    for kind, error in _CHUNK_ERRORS.items():
        if location.startswith(kind):
            return error
    if location.startswith("header"):
        return raiiafCorruptHeader
    if location.startswith("manifest"):
        return raiiafMetadataError
    return raiiafChunkError if code.startswith(("chunk.", "layout.")) else raiiafDecodeError


def _raise_for(container: Container) -> None:
    failures = container.failures
    if container.verdict == "unreadable":
        code = container._summary.get("error_kind")
        location = failures[0].location if failures else ""
        message = container.error or "unreadable"
        if failures and code not in ("not_raiiaf", "unsupported_version"):
            code = failures[0].code
    else:
        first = failures[0]
        code, location = first.code, first.location
        message = f"{first.code} ({first.location}): {first.message}"
    raise _error_class(code, location)(
        message, name=container.name, verdict=container.verdict, code=code, failures=failures, container=container
    )


@dataclass
class EnvChunk:
    """The environment snapshot, as the reference's decoder returns it: ``components`` are
    dicts with ``component_id``, ``cononical_str`` (the reference's spelling) and
    ``component_sha256_digest`` (bytes)."""

    env_version: int
    components: List[Dict[str, Any]]


def header_parse(buf: bytes) -> dict:
    """The header's fields as the reference's ``header_parse`` gives them (no check)."""
    if len(buf) < HEADER_SIZE:
        raise raiiafCorruptHeader("Header too small")
    names = (
        "magic",
        "version_major",
        "version_minor",
        "flags",
        "chunk_table_offset",
        "chunk_table_size",
        "chunk_count",
        "file_size",
        "reserved",
    )
    return dict(zip(names, struct.unpack(HEADER_FORMAT, bytes(buf[:HEADER_SIZE]))))


def header_validate(header: dict) -> bool:
    """The reference's header test: the magic, a major version of at least 1."""
    return header.get("magic") == b"raiiaf" and header.get("version_major", 0) >= 1 and header.get("chunk_count", 0) >= 0


class raiiafMetadata:  # noqa: N801
    """The reference's manifest helper."""

    def metadata_parser(self, compressed_chunk: bytes) -> dict:
        """The manifest in a META chunk's bytes (zstd frame, inner header, JSON)."""
        try:
            return json.loads(_native.manifest_from_chunk(bytes(compressed_chunk)))
        except ValueError as error:
            raise raiiafMetadataError(str(error)) from error


class raiiafFileHandler:  # noqa: N801
    """The reference's reading and writing API, on the workbench's core."""

    def __init__(self, max_file_size: Optional[int] = None, max_chunk_size: Optional[int] = None) -> None:
        self.metadata = raiiafMetadata()
        self.max_file_size = max_file_size or MAX_FILE_SIZE
        self.max_chunk_size = max_chunk_size or MAX_CHUNK_SIZE
        self.HEADER_SIZE = HEADER_SIZE

    def validate_file_size(self, size: int, context: str = "file") -> bool:
        """The reference's size test: raises when ``size`` is negative or over the limit."""
        if size < 0:
            raise raiiafDecodeError(f"Invalid {context} size: {size} (negative)")
        if context == "file" and size > self.max_file_size:
            raise raiiafDecodeError(
                f"File size {size:,} bytes exceeds maximum {self.max_file_size:,} bytes ({size / (1024**3):.2f} GB)"
            )
        if context == "chunk" and size > self.max_chunk_size:
            raise raiiafChunkError(f"Chunk size {size:,} bytes exceeds maximum {self.max_chunk_size:,} bytes")
        return True

    def validate_chunk_count(self, count: int) -> bool:
        """The reference's chunk count test."""
        if count < 0:
            raise raiiafDecodeError(f"Invalid chunk count: {count}")
        if count > MAX_CHUNKS:
            raise raiiafDecodeError(f"Chunk count {count} exceeds maximum {MAX_CHUNKS}")
        return True

    def file_encoder(
        self,
        filename: str,
        latent: Dict[str, np.ndarray],
        chunk_records: list,
        model_name: str,
        model_version: str,
        prompt: str,
        tags: list,
        img_binary: Optional[bytes],
        should_compress: bool = True,
        convert_float16: bool = True,
        generation_settings: Optional[dict] = None,
        hardware_info: Optional[dict] = None,
        extra_image: Optional[Dict[str, Any]] = None,
    ) -> Dict[str, Optional[bytes]]:
        """Writes ``filename`` (which must end in ``.raiiaf``) as the reference does: latents
        compressed with lossless zfp (``should_compress``) or raw, stored as float16
        (``convert_float16``), the PNG, this machine's environment; appends the chunk records
        to ``chunk_records`` and returns the ``header``, ``latent_chunks``,
        ``metadata_chunk`` and ``image_chunk`` bytes."""
        if not filename.endswith(".raiiaf"):
            raise ValueError("Filename must have a .raiiaf extension")
        if not latent:
            raise raiiafLatentError("Latent dictionary cannot be empty")
        try:
            packed = pack(
                None,
                image=img_binary,
                latents=latent,
                model_name=model_name,
                model_version=model_version,
                prompt=prompt,
                tags=list(tags or []),
                settings=generation_settings,
                hardware=hardware_info,
                codec="zfp" if should_compress else "raw",
                float16=convert_float16,
                extra_image=extra_image,
            )
        except ValueError as error:
            if isinstance(error, FormatError):
                raise
            raise raiiafDecodeError(str(error)) from error
        data = packed.data or b""
        self.validate_file_size(len(data), "file")
        _native.write_atomic(filename, data, True)
        body = packed.manifest.get("raiiaf_metadata", {})
        records = body.get("chunks", [])
        chunk_records.extend(records)
        header = header_parse(data)

        def span(kind: str) -> Optional[bytes]:
            spans = [(r["offset"], r["offset"] + r["compressed_size"]) for r in records if r.get("type") == kind]
            if not spans:
                return None
            return data[min(s for s, _ in spans) : max(e for _, e in spans)]

        table = header["chunk_table_offset"]
        return {
            "header": data[:HEADER_SIZE],
            "latent_chunks": span("LATN") or b"",
            "metadata_chunk": data[table : table + header["chunk_table_size"]],
            "image_chunk": span("DATA"),
        }

    def file_decoder(self, filename: str) -> Dict[str, Any]:
        """Reads and checks ``filename``; returns ``header`` (the reference's header dict),
        ``chunks`` (``latent``: the arrays in file order, ``image``: the image bytes, ``env``:
        an :class:`EnvChunk`) and ``metadata`` (the manifest). A file that fails any check
        raises the reference's class for it."""
        container = Container(_native_open(filename, None))
        if not container.ok:
            _raise_for(container)
        chunks: Dict[str, Any] = {"latent": [np.array(container.latents[key]) for key in container.latents]}
        if container.image_bytes is not None:
            chunks["image"] = container.image_bytes
        if container.environment or any(c.location.startswith("ENVC") for c in container.checks):
            # As the reference's parser leaves them: dicts, the digest as bytes when it is hex.
            chunks["env"] = EnvChunk(
                env_version=container._summary.get("env_version") or 1,
                components=[
                    {
                        "component_id": c["component_id"],
                        "cononical_str": c["canonical"],
                        "component_sha256_digest": bytes.fromhex(c["digest"]) if _is_hex(c["digest"]) else c["digest"],
                    }
                    for c in container.environment
                ],
            )
        with open(filename, "rb") as file:
            header = header_parse(file.read(HEADER_SIZE))
        return {"header": header, "chunks": chunks, "metadata": container.manifest}

    @staticmethod
    def png_to_bytes(png_path: str) -> bytes:
        """A PNG file as RGBA PNG bytes (needs Pillow)."""
        try:
            from PIL import Image

            with Image.open(png_path) as img:
                buffer = io.BytesIO()
                img.convert("RGBA").save(buffer, format="PNG")
                return buffer.getvalue()
        except Exception as error:  # noqa: BLE001 - the reference wraps every failure
            raise raiiafImageError(f"Failed to convert PNG to bytes: {error}") from error

    @staticmethod
    def bytes_to_png(img_bytes: bytes) -> Any:
        """Image bytes as a ``PIL.Image.Image`` (needs Pillow)."""
        try:
            from PIL import Image

            return Image.open(io.BytesIO(img_bytes))
        except Exception as error:  # noqa: BLE001
            raise raiiafImageError(f"Failed to convert bytes to PNG: {error}") from error


def _is_hex(text: Any) -> bool:
    if not isinstance(text, str) or len(text) != 64:
        return False
    try:
        bytes.fromhex(text)
    except ValueError:
        return False
    return True


__all__ = [
    "EnvChunk",
    "HEADER_SIZE",
    "raiiafChunkError",
    "raiiafCorruptHeader",
    "raiiafDecodeError",
    "raiiafEnvChunkError",
    "raiiafFileHandler",
    "raiiafImageError",
    "raiiafLatentError",
    "raiiafMetadata",
    "raiiafMetadataError",
    "header_parse",
    "header_validate",
]
