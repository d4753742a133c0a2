"""The command line's other verbs as functions: pack, verify, params, diff, probe, view."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import warnings
from typing import Any, Dict, Iterable, Iterator, List, Mapping, NamedTuple, Optional, Sequence, Union

import numpy as np

from . import _native
from ._container import Container, _limits

PathLike = Union[str, "os.PathLike[str]"]


def _json_default(value: Any) -> Any:
    # numpy scalars and arrays in settings (a seed from np.random, say) become plain numbers.
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _json_object(name: str, value: Optional[Mapping[str, Any]]) -> Optional[str]:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise TypeError(f"{name} must be a dict, not {type(value).__name__}")
    return json.dumps(dict(value), default=_json_default)


def _image_bytes(image: Any) -> tuple:
    """(bytes, name) of an image given as bytes, a path, a PIL image or an HxW[xC] uint8 array."""
    if image is None:
        return None, "image"
    if isinstance(image, (bytes, bytearray, memoryview)):
        return bytes(image), "image"
    if isinstance(image, (str, os.PathLike)):
        with open(image, "rb") as file:
            return file.read(), os.fspath(image)
    if hasattr(image, "save") and hasattr(image, "mode"):
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        return buffer.getvalue(), "image"
    array = np.asarray(image)
    if array.dtype != np.uint8 or array.ndim not in (2, 3):
        raise TypeError("image must be PNG/JPEG/WebP bytes, a path, a PIL image or an HxW[xC] uint8 array")
    try:
        from PIL import Image
    except ImportError as error:
        raise TypeError("an image given as an array needs Pillow to be encoded; pass PNG bytes instead") from error
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue(), "image"


def _latent_array(key: str, value: Any) -> np.ndarray:
    if hasattr(value, "detach") and hasattr(value, "cpu"):
        # A torch tensor: its values, wherever it lives and whatever its autograd state.
        value = value.detach().cpu()
    array = np.asarray(value)
    if array.dtype == np.float64:
        warnings.warn(
            f"latent {key!r}: float64 array stored as float32 (the format stores float16 or float32)",
            stacklevel=3,
        )
        array = array.astype(np.float32)
    if array.dtype not in (np.float16, np.float32):
        raise ValueError(f"latent {key!r}: dtype {array.dtype} is not float16, float32 or float64")
    return array


class Packed(NamedTuple):
    """What :func:`pack` made."""

    path: Optional[str]
    """Where it was written, or None when ``out`` was None."""
    data: Optional[bytes]
    """The file's bytes when ``out`` was None, else None."""
    size: int
    manifest: Dict[str, Any]
    """The manifest as written."""
    notes: List[str]
    """What the import and the environment probe had to say."""


def pack(
    out: Optional[PathLike],
    *,
    image: Any,
    latents: Mapping[str, Any],
    model_name: Optional[str] = None,
    model_version: Optional[str] = None,
    prompt: Optional[str] = None,
    settings: Optional[Mapping[str, Any]] = None,
    tags: Sequence[str] = (),
    codec: str = "auto",
    float16: bool = False,
    environment: Union[str, Container, None] = "probe",
    hardware: Optional[Mapping[str, Any]] = None,
    import_params: bool = False,
    overwrite: bool = False,
    extra_image: Optional[Mapping[str, Any]] = None,
) -> Packed:
    """Packs a ``.raiiaf`` file, as ``raiiaf pack`` does, that the reference reads back.

    - ``image``: PNG, JPEG or WebP bytes, a path, a ``PIL.Image`` or an HxW[xC] uint8 array
      (encoded as PNG; needs Pillow).
    - ``latents``: name to array: numpy arrays or anything with ``__array__`` (torch tensors
      are detached and moved to the CPU); float16 and float32 are stored as they are, float64
      as float32 with a warning.
    - ``model_name``, ``model_version``, ``prompt`` are required unless ``import_params``
      reads them from the image's generation parameters (see :func:`params`); ``settings``
      becomes ``generation_settings`` (seed, steps and sampler are required when given).
    - ``codec``: ``"auto"`` (the smaller of raw and lossless zfp, per latent), ``"raw"``,
      ``"zfp"`` or ``"zfp-lossy:TOL"``; ``float16`` stores every latent as float16.
    - ``environment``: ``"probe"`` (this machine and this interpreter's torch, numpy, python
      and cuda, as the reference records them; probed once per process), None (no
      component) or another :class:`Container` whose snapshot to copy. ``hardware``
      replaces the probed hardware info.
    - ``out``: the file to write, atomically (a temporary file then a rename); an existing
      file is kept unless ``overwrite``. With ``out=None`` nothing is written and the bytes
      are returned.

    Raises ValueError with ``raiiaf pack``'s message for what it refuses (no latent, a
    repeated key, an image that is not one, values lossless zfp cannot store, a manifest the
    schema refuses) and OSError when the file cannot be written.
    """
    if not import_params:
        missing = [
            name
            for name, value in (("model_name", model_name), ("model_version", model_version), ("prompt", prompt))
            if value is None
        ]
        if missing:
            raise TypeError(f"pack() needs {', '.join(missing)} (or import_params=True to read them from the image)")
    notes: List[str] = []
    if isinstance(environment, Container):
        environment_choice: Any = environment._native
    elif environment is None:
        environment_choice = None
    elif environment == "probe":
        probed = _machine()
        environment_choice = json.dumps(probed["environment"])
        if hardware is None:
            hardware = probed["hardware_info"]
        notes = [f"note: {note}" for note in probed["notes"]]
    else:
        raise ValueError(f'environment must be "probe", None or a Container, not {environment!r}')
    if not isinstance(latents, Mapping):
        raise TypeError("latents must be a dict of name to array")
    arrays = [(str(key), _latent_array(str(key), value)) for key, value in latents.items()]
    image_data, image_name = _image_bytes(image)
    data, manifest, lines = _native.pack(
        image_data,
        image_name,
        _json_object("extra_image", extra_image),
        arrays,
        model_name,
        model_version,
        prompt,
        [str(tag) for tag in tags],
        _json_object("settings", settings),
        _json_object("hardware", hardware),
        codec,
        float16,
        import_params,
        environment_choice,
    )
    notes = [*lines, *notes]
    if out is None:
        return Packed(None, data, len(data), json.loads(manifest), notes)
    path = os.fspath(out)
    _native.write_atomic(path, data, overwrite)
    return Packed(path, None, len(data), json.loads(manifest), notes)


def verify(path: PathLike, limits: Optional[Mapping[str, int]] = None) -> Dict[str, Any]:
    """Checks one file and returns its row as ``raiiaf verify --report`` writes it: ``path``,
    ``valid``, ``verdict``, ``problems`` (failed check codes), ``error``, ``model_name``,
    ``seed`` and ``environment``. Never raises for a bad file: the row says what is wrong."""
    return json.loads(_native.open_path(os.fspath(path), _limits(limits)).row_json())


def verify_bytes(name: str, data: bytes, limits: Optional[Mapping[str, int]] = None) -> Dict[str, Any]:
    """The same row for a file's bytes, called ``name``: the function to map over objects in
    a bucket (Ray, Dask, Spark)."""
    return json.loads(_native.verify_bytes(str(name), bytes(data), _limits(limits)))


class VerifyRun(Iterator[Dict[str, Any]]):
    """Rows of :func:`verify_many` as they are checked, in path order.

    Iterate it (or ``list()`` it); Ctrl-C stops the run and raises KeyboardInterrupt, and
    :meth:`cancel` stops it from another thread. Once the last row has been read,
    :attr:`summary` holds the counts (``found``, ``checked``, ``valid``, ``invalid``,
    ``unreadable``, ``cancelled``).
    """

    def __init__(self, native: Any) -> None:
        self._native = native
        self.summary: Optional[Dict[str, Any]] = None

    @property
    def found(self) -> int:
        """How many files the run checks."""
        return self._native.found

    def __iter__(self) -> "VerifyRun":
        return self

    def __next__(self) -> Dict[str, Any]:
        row = self._native.next_row()
        if row is None:
            summary = self._native.summary_json()
            self.summary = json.loads(summary) if summary else None
            raise StopIteration
        return json.loads(row)

    def cancel(self) -> None:
        """Stops starting new files; rows already being checked still arrive."""
        self._native.cancel()


def verify_many(
    paths: Union[PathLike, Iterable[PathLike]],
    workers: Optional[int] = None,
    *,
    recursive: bool = False,
    limits: Optional[Mapping[str, int]] = None,
) -> VerifyRun:
    """Checks files and the ``.raiiaf``/``.gen5`` files in folders (and their subfolders with
    ``recursive``) on ``workers`` threads (default: one per core), as ``raiiaf verify`` does,
    and streams one row per file (see :func:`verify`)."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    return VerifyRun(
        _native.verify_paths([os.fspath(p) for p in paths], recursive, int(workers or 0), _limits(limits))
    )


def params(image: Any, *, raw: bool = False, limits: Optional[Mapping[str, int]] = None) -> Dict[str, Any]:
    """The generation parameters an image (a path or its bytes) carries, as ``raiiaf params
    --json`` prints them: ``file``, ``generator``, ``model_name``, ``model_version``,
    ``prompt``, ``settings``, ``notes``, ``error``, and with ``raw`` every metadata entry."""
    if isinstance(image, (bytes, bytearray, memoryview)):
        return json.loads(_native.params_bytes(bytes(image), "<bytes>", raw))
    return json.loads(_native.params_path(os.fspath(image), raw, _limits(limits)))


def _diff_side(value: Any, default_name: str) -> tuple:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value), default_name
    return os.fspath(value), os.fspath(value)


def diff(a: Any, b: Any, *, all: bool = False, limits: Optional[Mapping[str, int]] = None) -> Dict[str, Any]:  # noqa: A002
    """Compares two files (paths or bytes) as ``raiiaf diff --json`` does: ``equivalent``,
    ``summary``, ``a``/``b``, ``latents``, ``manifest_differences`` (volatile fields only
    with ``all``), ``environment_differences``, ``image`` and ``prompt_words``."""
    (a_input, a_name), (b_input, b_name) = _diff_side(a, "<a>"), _diff_side(b, "<b>")
    return json.loads(_native.diff(a_input, b_input, a_name, b_name, all, _limits(limits)))


def probe() -> Dict[str, Any]:
    """This machine's environment as ``raiiaf env --json`` prints it, with torch, numpy,
    python and cuda asked of this interpreter: ``components`` (each with its status),
    ``environment`` (the snapshot a pack records), ``hardware_info`` and ``notes``."""
    return json.loads(_native.probe(sys.executable))


_MACHINE: Optional[Dict[str, Any]] = None


def _machine() -> Dict[str, Any]:
    """The probe :func:`pack` records, made once per process: the interpreter, its packages
    and the machine do not change between two packs, and probing costs a process start."""
    global _MACHINE
    if _MACHINE is None:
        _MACHINE = probe()
    return _MACHINE


def view(*paths: PathLike, compare: bool = False) -> "subprocess.Popen[bytes]":
    """Opens the files in the workbench's window, in a process of its own, and returns at
    once (the notebook keeps running). With ``compare``, the two files are compared."""
    command = [sys.executable, "-m", "raiiaf_workbench", "view", *(os.fspath(p) for p in paths)]
    if compare:
        command.append("--compare")
    return subprocess.Popen(command)
