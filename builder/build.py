"""The model build: checkpoint -> torch model -> fp32 ONNX -> quantized ONNX, each step validated.

The shared steps are here; what differs between model families (how the checkpoint is found and
checked, the export, the parity checks, which precisions) is the family's ``build``
(``builder/families/``). Steps, in order (each prints one line through ``log``):
1. the checkpoint; 2. the torch model (and its port check, where the family has one);
3. fp32 ONNX vs torch; 4. fp32 stems of the validation excerpt (real music): the reference;
5. for each requested precision: quantize, separate the excerpt, check SDR vs fp32, and store
   ``dist/models/<model>-<precision>-<hash>.onnx``;
6. write the extension's model descriptor ``<model>.json``, the build report ``<model>.report.json``
   and one bundle per precision ``<model>-<precision>-<hash>.demixer`` (``bundle.py``).
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from builder import families
from builder.audio_io import load_audio, to_stereo
from builder.bundle import write_bundle
from builder.config import BuildConfig
from builder.families.base import BuildContext, Built
from builder.report import ArtifactReport, BuildReport
from models import catalog
from models.spec import ModelSpec, Precision


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def artifact_name(spec: ModelSpec, precision: Precision, digest: str) -> str:
    return f"{spec.name}-{precision.value}-{digest[:8]}.onnx"


def _store_artifact(out_dir: Path, log: Callable[[str], None]):
    def store(path: Path, spec: ModelSpec, precision: Precision, sdrs: dict[str, float] | None) -> ArtifactReport:
        """Move ``path`` to its content-named place in ``out_dir`` (replacing older builds)."""
        digest = _sha256(path)
        final = out_dir / artifact_name(spec, precision, digest)
        for old in out_dir.glob(f"{spec.name}-{precision.value}-*.onnx"):
            old.unlink()
        path.replace(final)
        log(f"[5/6] {precision.value}: {final.name}, {final.stat().st_size / 1e6:.1f} MB, "
            f"SDR vs fp32 dB: {sdrs or 'reference'}")  # fmt: skip
        return ArtifactReport(precision.value, final.name, final.stat().st_size, digest, sdrs)

    return store


def build_model(config: BuildConfig, log: Callable[[str], None] = print) -> BuildReport:
    started = time.monotonic()
    entry = catalog.get(config.model)
    family = families.get(entry.spec.family)
    out_dir = config.paths.models
    out_dir.mkdir(parents=True, exist_ok=True)
    excerpt = to_stereo(load_audio(config.paths.validation_audio).waveform)
    with tempfile.TemporaryDirectory() as tmp:
        built = family.build(BuildContext(config, entry, excerpt, Path(tmp), _store_artifact(out_dir, log), log))
    built.report.seconds = round(time.monotonic() - started, 1)
    _write_outputs(family.descriptor(built.spec, built.descriptor), built, out_dir, log)
    return built.report


def _write_outputs(descriptor: dict, built: Built, out_dir: Path, log: Callable[[str], None]) -> None:
    descriptor["files"] = {a.precision: {"file": a.file, "bytes": a.bytes, "sha256": a.sha256}
                           for a in built.report.artifacts}  # fmt: skip
    name = built.spec.name
    (out_dir / f"{name}.json").write_text(json.dumps(descriptor, indent=1) + "\n")
    (out_dir / f"{name}.report.json").write_text(json.dumps(asdict(built.report), indent=1) + "\n")
    bundles = [write_bundle(out_dir, name, Precision(a.precision)).name for a in built.report.artifacts]
    log(f"[6/6] wrote {out_dir / (name + '.json')}, the build report and the bundles {', '.join(bundles)} "
        f"({built.report.seconds} s)")  # fmt: skip
