"""Browser fixtures: packaged extensions (int8 and fp32) and a browser per test."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from builder.demix import DemixOptions, separate_file
from builder.package import PackageConfig, package
from models.spec import Precision
from tests.e2e.chromium import ChromiumSession


@pytest.fixture(scope="session")
def packaged(built, tmp_path_factory):
    """precision -> dist folder holding models/ and the unpacked chrome/ build."""
    made: dict[Precision, Path] = {}

    def make(precision: Precision = Precision.INT8_WEIGHTS) -> Path:
        if precision not in made:
            dist = tmp_path_factory.mktemp(f"dist-{precision.value}")
            shutil.copytree(built / "models", dist / "models")
            package(PackageConfig(precision=precision, dist=dist, browsers=("chrome",)), log=lambda *_: None)
            made[precision] = dist
        return made[precision]

    return make


@pytest.fixture(scope="session")
def native_stems(built, tmp_path_factory):
    """The reference CLI's stems for a song, per precision (PCM16 WAV, like the extension's)."""

    def run(song: Path, precision: Precision) -> Path:
        out = tmp_path_factory.mktemp(f"native-{precision.value}")
        separate_file(song, out, built / "models", DemixOptions(precision=precision))
        return out

    return run


@pytest.fixture
def chromium(packaged, tmp_path):
    sessions: list[ChromiumSession] = []

    def start(precision: Precision = Precision.INT8_WEIGHTS, extra_args=()) -> ChromiumSession:
        session = ChromiumSession.start(packaged(precision) / "chrome", tmp_path, extra_args)
        sessions.append(session)
        return session

    yield start
    for session in sessions:
        session.quit()


def wait_for(predicate, timeout: float, interval: float = 0.5, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
