"""Sono: the backend of a music sharing platform."""

import contextlib
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _distribution_version

__version__ = "0.1.0"  # the release's version: the build reads it from this line into the package metadata
with contextlib.suppress(PackageNotFoundError):  # else a bare source tree: the line above
    __version__ = _distribution_version("sono")  # the installed package's metadata says which version runs
