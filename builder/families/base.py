"""What a model family is: the interface every ``builder/families/<family>.py`` fills in.

A family says how its models are built (the steps between the checkpoint and the validated
artifacts: port checks, export, parity, quantization), what its descriptor adds for the
extension, which parity data the tests must find, and how the native CLI runs it (or why not).
The shared steps (catalog lookup, validation audio, content-named artifacts, descriptor and
report files) stay in ``builder/build.py``. Nothing here imports torch: a family imports it
inside ``build``, so that ``demixer separate`` and ``--help`` never load it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from builder.config import BuildConfig
from builder.report import ArtifactReport, BuildReport
from builder.separate import Progress
from models.catalog import CatalogEntry
from models.spec import MaskExtension, ModelFamily, ModelSpec, Precision

# (path of a candidate artifact, its precision, its SDRs vs fp32 or None for fp32) -> its report
Store = Callable[[Path, ModelSpec, Precision, "dict[str, float] | None"], ArtifactReport]
# (waveform at the model's rate, spec, model file, threads, mask extension) -> stem blocks with progress
NativeSeparation = Callable[[np.ndarray, ModelSpec, Path, int, "MaskExtension | None"],
                            Iterator[tuple[np.ndarray, Progress]]]  # fmt: skip


class UnsupportedModelError(ValueError):
    """``demixer separate`` cannot run this model (``builder.demix`` re-exports it for the CLI)."""


@dataclass(frozen=True)
class BuildContext:
    config: BuildConfig
    entry: CatalogEntry
    excerpt: np.ndarray  # the validation audio, stereo, (nb_samples, nb_channels)
    tmp: Path  # scratch directory, removed after the build
    store: Store
    log: Callable[[str], None]


@dataclass(frozen=True)
class Built:
    spec: ModelSpec  # the catalog's, with what the checkpoint fixes (HTDemucs: stems, rate, STFT)
    report: BuildReport
    descriptor: dict  # the family's part of the extension's model descriptor


@dataclass(frozen=True)
class Tensor:
    """One input or output of the exported graph, as the descriptor lists it."""

    name: str
    layout: str


@dataclass(frozen=True)
class Family:
    name: ModelFamily
    inputs: tuple[Tensor, ...]
    outputs: tuple[Tensor, ...]
    build: Callable[[BuildContext], Built]
    # the reference data (file names under tests/data) that the parity tests need for a catalog entry
    parity_data: Callable[[CatalogEntry], list[str]]
    native: NativeSeparation | None = None
    no_native_reason: str = ""  # shown when ``native`` is None

    def descriptor(self, spec: ModelSpec, family_fields: dict) -> dict:
        """The JSON the extension reads: one shape for every family, plus the family's own fields."""
        return {
            "name": spec.name,
            "family": self.name.value,
            "stems": list(spec.stems),
            "sampleRate": spec.sample_rate,
            "nbChannels": spec.nb_channels,
            "live": spec.live.descriptor() if spec.live else None,
            **family_fields,
            "input": [{"name": t.name, "layout": t.layout} for t in self.inputs],
            "output": [{"name": t.name, "layout": t.layout} for t in self.outputs],
        }
