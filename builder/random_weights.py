"""Seeded random weights of the exact published architectures, in each project's own checkpoint format.

Published 4/5-stem weights cannot be downloaded here, so the converters are proven on checkpoints
that have the real architecture, real variable names and shapes, and random values: the builder
converts them, and the result must match the original framework's output (TensorFlow for
Spleeter: ``scripts/make_golden_random.py``) and, in the browser, the native reference.

Values depend only on (seed, variable name), never on creation order, so any tool that knows the
names and shapes makes the same checkpoint.

    .venv/bin/python scripts/random_checkpoint.py spleeter-4stems .cache/random/spleeter-4stems/model
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np

SEED = 20261124


def random_values(shapes: dict[str, tuple[int, ...]], seed: int = SEED) -> dict[str, np.ndarray]:
    """Uniform kernels in +-sqrt(1.5 / fan_in) (half He-uniform's range), small biases, BatchNorm
    statistics near (but not at) identity.

    At He-uniform's full range the random U-Nets saturate: in some bins every stem's sigmoid
    mask is ~0, the ratio masks are then decided by their 1e-10 epsilon, and any two float
    implementations disagree there (ONNX vs torch stems ~45 dB; at half range > 85 dB).
    """
    values = {}
    for name, shape in shapes.items():
        rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
        leaf = name.rsplit("/", 1)[-1]
        if leaf == "kernel":
            limit = np.sqrt(1.5 / np.prod(shape[:-1]))
            value = rng.uniform(-limit, limit, shape)
        elif leaf in ("gamma", "moving_variance"):
            value = rng.uniform(0.8, 1.2, shape)
        else:  # bias, beta, moving_mean
            value = rng.normal(0.0, 0.05, shape)
        values[name] = value.astype(np.float32)
    return values


def spleeter_checkpoint(model_name: str, prefix: Path, seed: int = SEED) -> Path:
    """Write a random checkpoint of the catalog's Spleeter model ``model_name`` at ``prefix``."""
    from builder.tf_checkpoint import write_checkpoint
    from models import catalog
    from models.spleeter import SpleeterMasks, tf_variables

    spec = catalog.get(model_name).spec
    shapes = {name: value.shape for name, value in
              tf_variables(SpleeterMasks(len(spec.stems), spec.nb_channels, variant=spec.unet)).items()}  # fmt: skip
    return write_checkpoint(prefix, random_values(shapes, seed))
