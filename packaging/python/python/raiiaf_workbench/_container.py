"""Opening a file: :func:`open` and the :class:`Container` it returns."""

from __future__ import annotations

import functools
import json
import os
from typing import Any, Dict, Iterator, List, Mapping, NamedTuple, Optional, Union

import numpy as np

from . import _native
from ._errors import FormatError

Source = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, Any]


class Check(NamedTuple):
    """One check of a file, as ``raiiaf verify`` and ``raiiaf info`` report it."""

    code: str
    """Stable code, for example ``chunk.hash`` or ``header.magic``."""
    ok: bool
    message: str
    location: str
    """Where: ``header``, ``manifest (META chunk)``, ``LATN chunk 0``, ..."""


class Latents(Mapping[str, np.ndarray]):
    """The latents by key, in file order, as read-only numpy arrays of their stored dtype and
    shape that view the decoded values (no copy; ``np.array(a)`` gives a writable one). A key
    that appears twice in a file gets ``#2``, ``#3``, ... after it."""

    def __init__(self, native: Any, entries: List[Dict[str, Any]]) -> None:
        self._native = native
        self._positions: Dict[str, int] = {}
        for position, entry in enumerate(entries):
            key, occurrence = entry["key"], 1
            while key in self._positions:
                occurrence += 1
                key = f"{entry['key']}#{occurrence}"
            self._positions[key] = position
        self._arrays: Dict[str, np.ndarray] = {}

    def __getitem__(self, key: str) -> np.ndarray:
        array = self._arrays.get(key)
        if array is None:
            array = self._native.latent(self._positions[key])
            array.flags.writeable = False
            self._arrays[key] = array
        return array

    def __iter__(self) -> Iterator[str]:
        return iter(self._positions)

    def __len__(self) -> int:
        return len(self._positions)

    def __repr__(self) -> str:
        shown = ", ".join(f"{key!r}: {tuple(self[key].shape)} {self[key].dtype}" for key in self)
        return f"Latents({{{shown}}})"


class Container:
    """One ``.raiiaf`` (or ``.gen5``) file, read and checked byte by byte.

    Made by :func:`open`. Everything is read when the file is opened; the latents are numpy
    views of the decoded values, the image stays encoded until :attr:`image` is asked for.
    """

    def __init__(self, native: Any) -> None:
        self._native = native
        summary = json.loads(native.summary_json())
        self._summary = summary
        self.name: str = native.name
        """The path, or the name given for bytes and file objects."""
        self.verdict: str = summary["verdict"]
        """``"valid"`` (every check passed), ``"invalid"`` or ``"unreadable"``."""
        self.error: Optional[str] = summary["error"]
        """Why the file is unreadable, when it is."""
        self.format: Optional[str] = summary["format"]
        """``"raiiaf"`` or ``"gen5"``."""
        self.file_size: int = summary["file_size"]
        self.header: Optional[Dict[str, Any]] = summary["header"]
        """The header's fields (format, versions, flags, chunk table, file size, reserved)."""
        self.manifest: Optional[Dict[str, Any]] = summary["manifest"]
        """The whole manifest as stored (root key ``raiiaf_metadata`` or ``gen5_metadata``)."""
        self.environment: List[Dict[str, Any]] = summary["environment"]
        """The environment snapshot's components: ``component_id``, ``canonical``, ``digest``
        and ``digest_ok`` (whether the digest is that of the canonical string)."""
        self.checks: List[Check] = [
            Check(c["code"], c["ok"], c["message"], c["location"]) for c in summary["checks"]
        ]
        """Every check that ran, in order."""
        self.latents: Latents = Latents(native, summary["latents"])
        self._image: Any = None

    @property
    def ok(self) -> bool:
        """Whether every check passed (the verdict is ``"valid"``)."""
        return self.verdict == "valid"

    @property
    def failures(self) -> List[Check]:
        """The checks that failed."""
        return [check for check in self.checks if not check.ok]

    @property
    def model_info(self) -> Dict[str, Any]:
        """The manifest's ``model_info`` (model, version, date, prompt, tags, settings,
        hardware), or an empty dict."""
        if not self.manifest:
            return {}
        body = self.manifest.get("raiiaf_metadata") or self.manifest.get("gen5_metadata") or {}
        info = body.get("model_info") if isinstance(body, dict) else None
        return info if isinstance(info, dict) else {}

    @functools.cached_property
    def image_bytes(self) -> Optional[bytes]:
        """The stored image file (PNG for files the reference writes), or None. Copied out of
        the container once, on first use."""
        return self._native.image_bytes()

    @property
    def image(self) -> Any:
        """The image as a ``PIL.Image.Image`` when Pillow is installed, else an HxWx4 uint8
        (RGBA) numpy array; None when the file stores no image. Decoded within the limits."""
        if self._image is None:
            self._image = _decode_image(self)
        return self._image

    def info(self) -> Dict[str, Any]:
        """What ``raiiaf info --json`` prints for this file."""
        return json.loads(self._native.info_json())

    def row(self) -> Dict[str, Any]:
        """This file's row as ``raiiaf verify --report`` writes it."""
        return json.loads(self._native.row_json())

    def _repr_html_(self) -> str:
        return self._native.html()

    def __repr__(self) -> str:
        return (
            f"<raiiaf_workbench.Container {self.name!r} {self.verdict}, "
            f"{len(self.checks) - len(self.failures)}/{len(self.checks)} checks passed, "
            f"latents {list(self.latents)}>"
        )


def _decode_image(container: Container) -> Any:
    data = container.image_bytes
    if data is None:
        return None
    try:
        from PIL import Image
    except ImportError:
        decoded = container._native.image_rgba()
        if decoded is None:
            return None
        width, height, pixels = decoded
        return np.frombuffer(pixels, dtype=np.uint8).reshape(height, width, 4)
    import io

    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def _limits(limits: Optional[Mapping[str, int]]) -> Optional[Dict[str, int]]:
    return None if limits is None else {str(key): int(value) for key, value in limits.items()}


def _native_open(source: Source, limits: Optional[Mapping[str, int]]) -> Any:
    if isinstance(source, (str, os.PathLike)):
        return _native.open_path(os.fspath(source), _limits(limits))
    if isinstance(source, (bytes, bytearray, memoryview)):
        return _native.open_bytes(bytes(source), "<bytes>", _limits(limits))
    read = getattr(source, "read", None)
    if callable(read):
        data = read()
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError("the file object must be opened in binary mode ('rb')")
        name = getattr(source, "name", "<file>")
        return _native.open_bytes(bytes(data), str(name), _limits(limits))
    raise TypeError(f"expected a path, bytes or a binary file object, not {type(source).__name__}")


def format_error(container: Container) -> FormatError:
    """The :class:`FormatError` for a container that is not valid."""
    failures = container.failures
    if container.verdict == "unreadable":
        code = container._summary.get("error_kind") or (failures[0].code if failures else None)
        message = f"{container.name}: unreadable: {container.error}"
    else:
        first = failures[0] if failures else None
        code = first.code if first else None
        more = f" (and {len(failures) - 1} more failed checks)" if len(failures) > 1 else ""
        detail = f"{first.code} ({first.location}): {first.message}" if first else "a check failed"
        message = f"{container.name}: invalid: {detail}{more}"
    return FormatError(
        message,
        name=container.name,
        verdict=container.verdict,
        code=code,
        failures=failures,
        container=container,
    )


def open(  # noqa: A001 - the package's reading function, as in PIL.Image.open
    source: Source,
    limits: Optional[Mapping[str, int]] = None,
    *,
    strict: bool = True,
) -> Container:
    """Reads and checks a ``.raiiaf`` or ``.gen5`` file.

    ``source`` is a path, the file's bytes, or a binary file object. ``limits`` caps what one
    file may make this allocate, as ``raiiaf``'s limit flags do: ``max_latent_elements``
    (default 256M values), ``max_metadata_bytes`` (64 MiB), ``max_image_bytes`` (1 GiB),
    ``max_image_pixels`` (128M), ``max_chunks`` and ``max_rank``; an unknown name is refused.

    With ``strict`` (the default), a file that is not valid raises :class:`FormatError`
    naming the failing check, with what could be read as ``error.container``. With
    ``strict=False`` the container is returned whatever its verdict. The work runs with the
    GIL released, so threads can open files concurrently.
    """
    container = Container(_native_open(source, limits))
    if strict and not container.ok:
        raise format_error(container)
    return container

