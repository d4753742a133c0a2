"""RAIIAF Workbench for Python: read, check, write and view ``.raiiaf`` files.

The same Rust core as the ``raiiaf`` program, in one native module::

    import raiiaf_workbench as rw

    c = rw.open("image.raiiaf")          # FormatError if any check fails
    c.latents["initial_noise"]           # numpy, stored dtype and shape, no copy
    c.image                              # PIL.Image (or an RGBA array without Pillow)
    c                                    # in Jupyter: verdict, image, heatmaps, settings

    rw.pack("out.raiiaf", image=png_bytes, latents={"initial_noise": noise},
            model_name="sdxl", model_version="1.0", prompt="a lighthouse",
            settings={"seed": 42, "steps": 30, "sampler": "euler"})

    for row in rw.verify_many("outputs/", recursive=True):
        ...

``raiiaf_workbench.compat`` is a drop-in for the reference package's ``raiiaf`` API.
"""

from ._api import Packed, VerifyRun, diff, pack, params, probe, verify, verify_bytes, verify_many, view
from ._container import Check, Container, Latents, open
from ._errors import FormatError
from ._native import __version__

__all__ = [
    "Check",
    "Container",
    "FormatError",
    "Latents",
    "Packed",
    "VerifyRun",
    "__version__",
    "diff",
    "open",
    "pack",
    "params",
    "probe",
    "verify",
    "verify_bytes",
    "verify_many",
    "view",
]
