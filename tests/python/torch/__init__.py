"""Stand-in for torch, for running the reference package in tests.

The reference imports torch only to read these three things; installing real torch for that
would cost gigabytes. Versions are chosen to look like a CPU build.
"""

__version__ = "2.5.1+cpu"


class version:  # noqa: N801 - mirrors torch.version
    cuda = None


class cuda:  # noqa: N801 - mirrors torch.cuda
    @staticmethod
    def is_available():
        return False
