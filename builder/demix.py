"""Separate an audio file into stem WAV files with a built ONNX model (the native reference).

decode -> stereo -> resample to the model's rate -> separate (chunked) -> resample back -> WAV
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from builder import bundle, families
from builder.audio_io import AudioError, Replaced, SampleFormat, StemWriter, load_audio, resample, to_stereo
from builder.bundle import CHECK_S
from builder.families.base import UnsupportedModelError
from builder.names import safe_file_name
from builder.separate import Progress
from models import catalog
from models.spec import DEFAULT_PRECISION, MaskExtension, ModelSpec, Precision

MIN_SAMPLE_RATE = 8000  # below this there is no music left to separate
MAX_SAMPLE_RATE = 384000


class ModelNotBuiltError(FileNotFoundError):
    pass


@dataclass(frozen=True)
class Separation:
    paths: list[Path]  # one WAV per stem, in the model's stem order
    replaced: Replaced  # input samples replaced by silence (NaN, infinities, far out of range)


@dataclass(frozen=True)
class DemixOptions:
    model: str = catalog.DEFAULT_MODEL
    precision: Precision = DEFAULT_PRECISION
    mask_extension: MaskExtension | None = None  # None: the model's own (Spleeter: zeros)
    sample_format: SampleFormat = SampleFormat.PCM16
    threads: int = 0
    bundle: Path | None = None  # a model bundle (builder/bundle.py) instead of a build in dist/
    check_s: float = CHECK_S  # the bundle's check deadline before its margin per MB (bundle.check_model)


def find_model(models_dir: Path, spec: ModelSpec, precision: Precision) -> Path:
    descriptor = models_dir / f"{spec.name}.json"
    try:
        files = json.loads(descriptor.read_text())["files"]
        path = models_dir / files[precision.value]["file"]
    except (OSError, KeyError, ValueError):
        path = None
    if path is None or not path.is_file():
        raise ModelNotBuiltError(f"no {precision.value} build of {spec.name} in {models_dir}; "
                                 f"run: demixer build --precision {precision.value}")  # fmt: skip
    return path


def separate_file(song: Path, out_dir: Path, models_dir: Path, options: DemixOptions,
                  on_progress: Callable[[Progress], None] = lambda p: None) -> Separation:  # fmt: skip
    """Write ``<track>-<stem>.wav`` for each stem into ``out_dir`` (names by the extension's
    file-name rule, ``builder/names.py``).

    Raises :class:`AudioError` (bad input), :class:`ModelNotBuiltError` or
    :class:`bundle.BundleError`; on any failure no partial stem file is left behind.
    """
    if options.bundle is None:
        spec = catalog.get(options.model).spec
        return _separate(song, out_dir, spec, find_model(models_dir, spec, options.precision), options, on_progress)
    verified = bundle.read_bundle(options.bundle)  # the extension's rules (shared/bundle.js)
    bundle.check_model(verified, options.threads, options.check_s)  # and the checks of its import (model-check.js)
    with tempfile.TemporaryDirectory() as tmp:
        model_path = bundle.unpack_model(verified, Path(tmp))
        return _separate(song, out_dir, bundle.spec_of(verified.descriptor), model_path, options, on_progress)


def _separate(song: Path, out_dir: Path, spec: ModelSpec, model_path: Path, options: DemixOptions,
              on_progress: Callable[[Progress], None]) -> Separation:  # fmt: skip
    family = families.get(spec.family)
    if family.native is None:
        raise UnsupportedModelError(family.no_native_reason)
    audio = load_audio(song)
    if not MIN_SAMPLE_RATE <= audio.sample_rate <= MAX_SAMPLE_RATE:
        raise AudioError(f"{song.name}: sample rate {audio.sample_rate} Hz is outside "
                         f"{MIN_SAMPLE_RATE}..{MAX_SAMPLE_RATE} Hz")  # fmt: skip
    waveform = resample(to_stereo(audio.waveform), audio.sample_rate, spec.sample_rate)
    blocks = family.native(waveform, spec, model_path, options.threads, options.mask_extension)  # loads the model

    out_dir.mkdir(parents=True, exist_ok=True)
    track = safe_file_name(song.stem)
    paths = [out_dir / f"{track}-{safe_file_name(stem)}.wav" for stem in spec.stems]
    writers = [StemWriter(p, spec.sample_rate, audio.sample_rate, options.sample_format) for p in paths]
    try:
        for block, progress in blocks:
            last = progress.done_samples >= progress.total_samples
            for writer, stem_block in zip(writers, block, strict=True):
                writer.write(stem_block, last=last)
            on_progress(progress)
    except BaseException:
        for writer in writers:
            writer.abort()
        raise
    for writer in writers:
        writer.close()
    return Separation(paths, audio.replaced)
