"""The model families, registered by name like the models in ``models/catalog.py``.

Adding a family: a module here that defines ``FAMILY`` (see ``base.Family``), its entry in
``_FAMILIES``, its ``ModelFamily`` value, and its twin in ``extension/inference/families/``.
"""

from __future__ import annotations

from builder.families import htdemucs, mdx_net, spectral_masks
from builder.families.base import Family
from models.spec import ModelFamily

_FAMILIES: dict[ModelFamily, Family] = {f.name: f for f in (spectral_masks.FAMILY, htdemucs.FAMILY, mdx_net.FAMILY)}


class UnknownFamilyError(KeyError):
    def __str__(self) -> str:
        return f"unknown model family {self.args[0]!r}; known families: {', '.join(sorted(_FAMILIES))}"


def get(name: ModelFamily | str) -> Family:
    try:
        return _FAMILIES[ModelFamily(name)]
    except (KeyError, ValueError):
        raise UnknownFamilyError(str(name)) from None


def names() -> list[str]:
    return sorted(_FAMILIES)
