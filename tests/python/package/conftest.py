"""Shared fixtures for the Python package's tests (run by tests/python/package/run.sh against
the wheel installed in a fresh virtual environment, beside the reference package)."""

import contextlib
import io
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = sorted(
    [*ROOT.glob("tests/fixtures/*.raiiaf"), *ROOT.glob("tests/fixtures/*.gen5"), *ROOT.glob("assets/examples/*.raiiaf")]
)
# Written by the reference itself, float32 and float16, raw and zfp, every rank, gen5 too: if
# this many are not here the tests would prove nothing.
assert len(FIXTURES) >= 25, f"expected the committed fixtures, found {len(FIXTURES)}"


def fixture_id(path):
    return path.name


@pytest.fixture(scope="session")
def raiiaf_bin():
    """The `raiiaf` program to compare with: RAIIAF_BIN (the cargo build), else the package's
    own console command."""
    given = os.environ.get("RAIIAF_BIN")
    if given:
        return given
    found = shutil.which("raiiaf", path=str(Path(sys.executable).parent))
    assert found, "no raiiaf command: set RAIIAF_BIN"
    return found


def run_raiiaf(binary, *args):
    return subprocess.run([binary, *map(str, args)], capture_output=True, text=True, timeout=120)


@contextlib.contextmanager
def quiet():
    """The reference prints debugging lines and warns about this machine's environment."""
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def reference_handler(path=None):
    """The reference's handler for `path`'s format (raiiaf 1.1.0, or gen5 0.1.0)."""
    if path is not None and (str(path).endswith(".gen5") or Path(path).read_bytes()[:4] == b"GEN5"):
        from gen5.handlers.file_handler import Gen5FileHandler

        return Gen5FileHandler()
    from raiiaf import raiiafFileHandler

    return raiiafFileHandler()
