"""Model bundles: one file per built model and precision, ``<model>-<precision>-<hash>.demixer``,
that the extension imports (``extension/shared/bundle.js``, the twin of ``read_bundle`` here) and
``demixer separate --bundle`` runs.

A bundle is a zip of exactly four parts: ``model.onnx``, ``descriptor.json`` (the JSON the
extension reads, for this one precision), ``report.json`` (the build report with the figures it
was validated with) and ``manifest.json`` (format, version, sha256 and size of each other part).
Parts are *stored*, not deflated: the ONNX weights are nearly all of the bytes and barely compress
(float32 weights, and int8 ones behind fp16 scales; measured in ``tests/unit/test_bundle.py``), and
a stored part is read from the zip without a second, inflated copy of the model in memory.

A bundle comes from anyone: it is data only. Reading one checks, before any part is unpacked,
that the zip holds only the expected names and that their declared sizes are within
``BundleLimits`` (a zip bomb declares small parts and inflates to gigabytes); then the format
version, every sha256, and each descriptor field. Every refusal is a ``BundleError`` whose text
says what is wrong.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path

from builder import families
from builder.mdx_chunks import N_FFTS
from builder.names import safe_file_name
from models.spec import MaskExtension, MdxSpec, ModelFamily, ModelSpec, Precision, StftSpec

FORMAT = "demixer-bundle"
FORMAT_VERSION = 1
SUFFIX = ".demixer"
MODEL_PART, DESCRIPTOR_PART = "model.onnx", "descriptor.json"
REPORT_PART, MANIFEST_PART = "report.json", "manifest.json"
PARTS = (MODEL_PART, DESCRIPTOR_PART, REPORT_PART, MANIFEST_PART)


@dataclass(frozen=True)
class BundleLimits:
    """What a bundle may hold; the extension's twin is ``LIMITS`` in ``shared/bundle.js``."""

    # The largest model the builder makes (HTDemucs fp32, ~170 MB) with room to spare; the
    # browser holds the model in memory once as bytes and once as a session.
    max_model_bytes: int = 512 * 2**20
    max_json_bytes: int = 2**20  # descriptor, report, manifest: a few KB each
    max_stems: int = 16
    sample_rates: tuple[int, int] = (8000, 192000)
    n_fft: tuple[int, int] = (256, 16384)
    max_frames: int = 1024


class BundleError(ValueError):
    """A bundle that cannot be used, and why (shown as is to the user)."""


@dataclass(frozen=True)
class Bundle:
    descriptor: dict
    report: dict
    manifest: dict
    model: bytes

    @property
    def precision(self) -> str:
        return self.manifest["precision"]


def bundle_name(model: str, precision: Precision | str, sha256: str) -> str:
    return f"{model}-{Precision(precision).value}-{sha256[:8]}{SUFFIX}"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_bundle(models_dir: Path, model: str, precision: Precision, out_dir: Path | None = None) -> Path:
    """Make the bundle of ``model`` at ``precision`` from a finished build in ``models_dir``
    (its descriptor, report and artifact), replacing older bundles of the same model and precision."""
    try:
        descriptor = json.loads((models_dir / f"{model}.json").read_text())
        report = json.loads((models_dir / f"{model}.report.json").read_text())
        entry = descriptor.pop("files")[precision.value]
        onnx = (models_dir / entry["file"]).read_bytes()
    except (OSError, KeyError, ValueError) as error:
        raise BundleError(f"no finished {precision.value} build of {model} in {models_dir} ({error}); "
                          f"run: demixer build --model {model} --precision {precision.value}") from None  # fmt: skip
    if _sha256(onnx) != entry["sha256"]:
        raise BundleError(f"{entry['file']} does not match its build's sha256: build it again")
    descriptor.update(file=MODEL_PART, precision=precision.value, sha256=entry["sha256"])
    report["artifacts"] = [a for a in report.get("artifacts", []) if a.get("precision") == precision.value]
    parts = {
        MODEL_PART: onnx,
        DESCRIPTOR_PART: (json.dumps(descriptor, indent=1) + "\n").encode(),
        REPORT_PART: (json.dumps(report, indent=1) + "\n").encode(),
    }
    manifest = {
        "format": FORMAT, "version": FORMAT_VERSION, "model": model, "precision": precision.value,
        "parts": {name: {"bytes": len(data), "sha256": _sha256(data)} for name, data in parts.items()},
    }  # fmt: skip
    parts[MANIFEST_PART] = (json.dumps(manifest, indent=1) + "\n").encode()
    out_dir = out_dir or models_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob(f"{model}-{precision.value}-*{SUFFIX}"):
        old.unlink()
    path = out_dir / bundle_name(model, precision, entry["sha256"])
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for name in (MANIFEST_PART, DESCRIPTOR_PART, REPORT_PART, MODEL_PART):
            archive.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), parts[name])
    return path


def read_bundle(path: Path, limits: BundleLimits = BundleLimits()) -> Bundle:
    """The verified contents of a bundle, or :class:`BundleError` saying what is wrong."""
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as error:
        raise BundleError(f"{path.name} is not a model bundle: the zip cannot be read ({error})") from None
    with archive:
        _check_entries(archive.infolist(), limits)
        try:
            parts = {name: archive.read(name) for name in PARTS}
        except (OSError, zipfile.BadZipFile, EOFError, KeyError) as error:
            raise BundleError(f"{path.name} is damaged or truncated: {error}") from None
    return verify_parts(parts, limits)


def _check_entries(entries: list[zipfile.ZipInfo], limits: BundleLimits) -> None:
    names = [e.filename for e in entries]
    for name in names:
        if name not in PARTS:
            raise BundleError(f"unexpected file {name!r} in the bundle: a bundle holds only {', '.join(PARTS)}")
    if len(set(names)) != len(names) or len(names) != len(PARTS):
        raise BundleError(f"the bundle must hold each of {', '.join(PARTS)} once")
    for entry in entries:
        limit = limits.max_model_bytes if entry.filename == MODEL_PART else limits.max_json_bytes
        if entry.file_size > limit:
            raise BundleError(f"{entry.filename} declares {entry.file_size:,} bytes, over the limit of {limit:,}")


def _json(parts: dict[str, bytes], name: str) -> dict:
    try:
        value = json.loads(parts[name].decode())
    except (UnicodeDecodeError, ValueError) as error:
        raise BundleError(f"{name} is not valid JSON ({error})") from None
    if not isinstance(value, dict):
        raise BundleError(f"{name} is not a JSON object")
    return value


def verify_parts(parts: dict[str, bytes], limits: BundleLimits = BundleLimits()) -> Bundle:
    manifest = _json(parts, MANIFEST_PART)
    if manifest.get("format") != FORMAT:
        raise BundleError("not a demixer model bundle (its manifest names another format)")
    if manifest.get("version") != FORMAT_VERSION:
        raise BundleError(f"bundle format version {manifest.get('version')!r} is not known here "
                          f"(this version reads {FORMAT_VERSION})")  # fmt: skip
    listed = manifest.get("parts")
    if not isinstance(listed, dict) or set(listed) != set(PARTS) - {MANIFEST_PART}:
        raise BundleError("the bundle's manifest does not list its parts")
    for name, entry in listed.items():
        if not isinstance(entry, dict) or _sha256(parts[name]) != entry.get("sha256"):
            raise BundleError(f"{name} does not match its sha256 in the manifest: the bundle is damaged or altered")
    descriptor = _json(parts, DESCRIPTOR_PART)
    check_descriptor(descriptor, limits)
    if descriptor.get("sha256") != listed[MODEL_PART]["sha256"]:
        raise BundleError("the descriptor's sha256 is not the model's")
    if manifest.get("precision") != descriptor.get("precision"):
        raise BundleError("the manifest and the descriptor disagree on the precision")
    return Bundle(descriptor, _json(parts, REPORT_PART), manifest, parts[MODEL_PART])


def _int_in(descriptor: dict, path: str, low: int, high: int) -> int:
    value: object = descriptor
    for key in path.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise BundleError(f"descriptor field {path} must be a whole number in {low}..{high}, not {value!r}")
    return value


def check_descriptor(descriptor: dict, limits: BundleLimits = BundleLimits()) -> None:
    """The descriptor rules; ``checkDescriptor`` in ``shared/bundle.js`` is the twin."""
    family = descriptor.get("family")
    if family not in families.names():
        raise BundleError(f"unknown model family {family!r}; known families: {', '.join(families.names())}")
    name = descriptor.get("name")
    if not isinstance(name, str) or not name or safe_file_name(name) != name:
        raise BundleError(f"the model name {name!r} is not a plain name (letters, digits, dashes)")
    stems = descriptor.get("stems")
    if not isinstance(stems, list) or not 1 <= len(stems) <= limits.max_stems:
        count = len(stems) if isinstance(stems, list) else stems
        raise BundleError(f"a model has 1..{limits.max_stems} stems, this descriptor lists {count}")
    for stem in stems:
        if not isinstance(stem, str) or not stem or safe_file_name(stem) != stem:
            raise BundleError(f"stem name {stem!r} is not allowed: stem names become file names")
    if len(set(stems)) != len(stems):
        raise BundleError("two stems have the same name")
    _int_in(descriptor, "sampleRate", *limits.sample_rates)
    _int_in(descriptor, "nbChannels", 2, 2)
    n_fft = _int_in(descriptor, "stft.nFft", *limits.n_fft)
    if family == ModelFamily.MDX_NET:
        if n_fft not in N_FFTS:
            raise BundleError(f"descriptor field stft.nFft must be one of {', '.join(map(str, N_FFTS))}, not {n_fft}")
    elif n_fft & (n_fft - 1):
        raise BundleError(f"descriptor field stft.nFft must be a power of two, not {n_fft}")
    _int_in(descriptor, "stft.nHop", 1, n_fft)
    if family == ModelFamily.SPECTRAL_MASKS:
        _int_in(descriptor, "stft.nbBins", 1, n_fft // 2 + 1)
        _int_in(descriptor, "stft.nbFrames", 1, limits.max_frames)
        if descriptor.get("maskExtension") not in [m.value for m in MaskExtension]:
            raise BundleError(f"unknown mask extension {descriptor.get('maskExtension')!r}")
    if family == ModelFamily.MDX_NET:
        _int_in(descriptor, "stft.nbBins", 4, n_fft // 2 + 1)
        _int_in(descriptor, "stft.nbFrames", n_fft // descriptor["stft"]["nHop"] + 2, limits.max_frames)
        compensate, denoise = descriptor.get("compensate"), descriptor.get("denoise")
        if isinstance(compensate, bool) or not isinstance(compensate, int | float) or not 0.5 <= compensate <= 2:
            raise BundleError(f"descriptor field compensate must be in 0.5..2, not {compensate!r}")
        if not isinstance(denoise, bool):
            raise BundleError(f"descriptor field denoise must be true or false, not {denoise!r}")
    if family in (ModelFamily.HTDEMUCS, ModelFamily.MDX_NET):
        if family == ModelFamily.HTDEMUCS:
            _int_in(descriptor, "segmentLength", 1, 60 * descriptor["sampleRate"])
        overlap = descriptor.get("overlap")
        if not isinstance(overlap, int | float) or not 0 <= overlap < 1:
            raise BundleError(f"descriptor field overlap must be in 0..1, not {overlap!r}")
    fam = families.get(family)
    expected = {"input": fam.inputs, "output": fam.outputs}
    for key, tensors in expected.items():
        if descriptor.get(key) != [{"name": t.name, "layout": t.layout} for t in tensors]:
            raise BundleError(f"the descriptor's {key} tensors are not those of the {family} family")
    if descriptor.get("precision") not in [p.value for p in Precision]:
        raise BundleError(f"unknown precision {descriptor.get('precision')!r}")


def spec_of(descriptor: dict) -> ModelSpec:
    """The ModelSpec a bundle's native separation runs with (the fields the descriptor fixes)."""
    family = ModelFamily(descriptor["family"])
    spec = ModelSpec(descriptor["name"], tuple(descriptor["stems"]), family=family,
                     sample_rate=descriptor["sampleRate"], nb_channels=descriptor["nbChannels"],
                     precision=Precision(descriptor["precision"]))  # fmt: skip
    stft = descriptor["stft"]
    if family == ModelFamily.SPECTRAL_MASKS:
        return replace(spec, stft=StftSpec(stft["nFft"], stft["nHop"], stft["nbBins"], stft["nbFrames"]),
                       mask_extension=MaskExtension(descriptor["maskExtension"]))  # fmt: skip
    if family == ModelFamily.MDX_NET:
        mdx = MdxSpec(float(descriptor["compensate"]), descriptor["denoise"], float(descriptor["overlap"]))
        return replace(spec, stft=StftSpec(stft["nFft"], stft["nHop"], stft["nbBins"], stft["nbFrames"]), mdx=mdx)
    # Other families (HTDemucs): their native separation reads its own fields from the descriptor.
    return replace(spec, stft=StftSpec(stft["nFft"], stft["nHop"]))


NOISE_S = 1  # as the extension's import (inference/model-check.js)
# The check's deadline, as the extension's (inference/verify-model.js, the `modelCheckS` setting):
# this many seconds plus CHECK_S_PER_MB per MB of model (HTDemucs int8, 54 MB: 222 s).
CHECK_S = 60.0
CHECK_S_PER_MB = 3.0


def check_deadline_s(model_bytes: int, base_s: float = CHECK_S) -> int:
    return round(base_s + CHECK_S_PER_MB * model_bytes / 1e6)


def check_model(bundle: Bundle, threads: int = 0, base_s: float = CHECK_S) -> None:
    """What the extension's import checks in its inference host (``inference/model-check.js``):
    onnxruntime opens the model, its tensors are the descriptor's, and one second of noise runs
    through it with every output of the size the descriptor's layout declares. A model that
    fails here would fail, or write wrong stems, part-way through a song.

    onnxruntime cannot be interrupted inside a run (a ``Loop`` of 2^40 trips runs for days), so
    the check runs in a child process, killed at ``check_deadline_s``; the deadline is around
    the whole check, whatever the model's family."""
    deadline_s = check_deadline_s(len(bundle.model), base_s)
    context = multiprocessing.get_context("spawn")  # a fork would copy onnxruntime's thread pools
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_check_in_child, args=(bundle, threads, send), daemon=True)
    child.start()
    send.close()
    try:
        if not receive.poll(deadline_s):
            raise BundleError(f"the model's check did not finish within {deadline_s} s: the model runs far too "
                              "long (it may loop for ever); the check was stopped")  # fmt: skip
        try:
            refusal = receive.recv()
        except EOFError:
            child.join(5)
            raise BundleError(f"the model's check stopped the process that ran it (exit code {child.exitcode}; "
                              "out of memory?)") from None  # fmt: skip
    finally:
        child.kill()
        child.join()
        receive.close()
    if refusal is not None:
        raise BundleError(refusal)


def _check_in_child(bundle: Bundle, threads: int, send) -> None:
    """``check_model``'s child: the check's refusal, or None, sent back."""
    try:
        _check_model_here(bundle, threads)
    except BundleError as error:
        send.send(str(error))
        return
    send.send(None)


def _check_model_here(bundle: Bundle, threads: int) -> None:
    import numpy as np

    from builder.runtime import open_session

    try:
        model = open_session(bundle.model, threads, log_severity=4)
    except Exception as error:  # onnxruntime's errors (InvalidProtobuf, Fail, ...) share no base class
        raise BundleError(f"onnxruntime cannot load this model: {error}") from None
    descriptor = bundle.descriptor
    for key, tensors in (("input", model.get_inputs()), ("output", model.get_outputs())):
        if [t.name for t in tensors] != [t["name"] for t in descriptor[key]]:
            raise BundleError(f"the model's {key} tensors are not those its descriptor names")
    variables = noise_variables(descriptor)
    rng = np.random.default_rng(1)
    feeds = {t["name"]: rng.uniform(0.0 if t["name"] == "magnitude" else -0.1, 0.1,
                                    _layout_dims(t["layout"], variables)).astype(np.float32)
             for t in descriptor["input"]}  # fmt: skip
    try:
        outputs = model.run(None, feeds)
    except Exception as error:
        raise BundleError(f"the model failed on a test signal: {error}") from None
    for tensor, value in zip(descriptor["output"], outputs, strict=True):
        expected = int(np.prod(_layout_dims(tensor["layout"], variables)))
        if value.size != expected:
            raise BundleError(f"the model's output {tensor['name']} has {value.size} values where its descriptor "
                              f"declares {tensor['layout']} ({expected} values)")  # fmt: skip


def noise_variables(descriptor: dict) -> dict[str, int]:
    """The layout variables of one second of noise through the family's code, as the extension
    feeds it (a spectral-mask model gets one patch of that second's frames; HTDemucs one segment)."""
    stft = descriptor["stft"]
    variables = {"nb_stems": len(descriptor["stems"]), "nb_channels": descriptor["nbChannels"]}
    if descriptor["family"] == ModelFamily.SPECTRAL_MASKS:  # the track's last patch: cut to a multiple of 64
        from builder.separate import last_patch_frames

        frames = last_patch_frames(-(-NOISE_S * descriptor["sampleRate"] // stft["nHop"]), stft["nbFrames"])
        return {**variables, "nb_patches": 1, "nb_frames": frames, "nb_bins": stft["nbBins"]}
    if descriptor["family"] == ModelFamily.MDX_NET:  # one chunk's spectrogram
        return {**variables, "dim_f": stft["nbBins"], "dim_t": stft["nbFrames"]}
    segment = descriptor["segmentLength"]  # HTDemucs (htdemucs.js DemucsSpectrogram): demucs drops the Nyquist bin
    return {**variables, "segment_length": segment, "nb_bins": stft["nFft"] // 2,
            "nb_frames": -(-segment // stft["nHop"])}  # fmt: skip


def _layout_dims(layout: str, variables: dict[str, int]) -> list[int]:
    """'1,2*nb_channels,nb_bins' -> [1, 4, 2048]: each axis a product of numbers and variables."""
    dims = []
    for axis in layout.split(","):
        size = 1
        for factor in axis.split("*"):
            size *= int(factor) if factor.isdigit() else variables[factor]
        dims.append(size)
    return dims


def unpack_model(bundle: Bundle, into: Path) -> Path:
    """Write the bundle's ONNX model where onnxruntime can open it (the families take a path)."""
    path = into / f"{bundle.descriptor['name']}-{bundle.precision}-{bundle.descriptor['sha256'][:8]}.onnx"
    path.write_bytes(bundle.model)
    return path
