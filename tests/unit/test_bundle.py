"""Model bundles on the Python side: written by the build and `demixer bundle`, read and verified by
`demixer separate --bundle` with the extension's rules (the browser half: tests/e2e/test_bundles.py)."""

from __future__ import annotations

import json
import time
import zipfile
import zlib

import numpy as np
import pytest
import soundfile as sf

from builder.bundle import MODEL_PART, PARTS, BundleError, check_deadline_s, check_model, read_bundle
from builder.demix import DemixOptions, separate_file
from models.spec import Precision
from tests.bundle_files import HOSTILE_KINDS, bad_bundles, hostile_bundles
from tests.unit.test_cli import _assert_clean_failure, _demixer

pytestmark = pytest.mark.slow


def _bundle(dist, precision: Precision):
    [path] = (dist / "models").glob(f"spleeter-2stems-{precision.value}-*.demixer")
    return path


@pytest.mark.parametrize("precision", [Precision.INT8_WEIGHTS, Precision.FP32])
def test_build_writes_a_verified_stored_bundle_per_precision(built, precision):
    path = _bundle(built, precision)
    bundle = read_bundle(path)
    descriptor = json.loads((built / "models" / "spleeter-2stems.json").read_text())
    artifact = descriptor["files"][precision.value]
    assert path.name == f"spleeter-2stems-{precision.value}-{artifact['sha256'][:8]}.demixer"
    assert bundle.descriptor["sha256"] == artifact["sha256"] and bundle.descriptor["precision"] == precision.value
    assert [a["precision"] for a in bundle.report["artifacts"]] == [precision.value]
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == sorted(PARTS)
        assert {i.compress_type for i in archive.infolist()} == {zipfile.ZIP_STORED}
    # why stored: deflate would save little of the model (figure for ARCHITECTURE.md)
    ratio = len(zlib.compress(bundle.model, 6)) / len(bundle.model)
    print(f"{precision.value}: deflate would keep {ratio:.0%} of the model's {len(bundle.model) / 1e6:.1f} MB")
    assert ratio > 0.75


def test_bundle_command_recreates_the_same_file(built):
    path = _bundle(built, Precision.INT8_WEIGHTS)
    before = path.read_bytes()
    path.unlink()
    result = _demixer("bundle", "--dist", built)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(path) and path.read_bytes() == before


def test_bad_bundles_are_refused_with_their_message(built, tmp_path):
    for bad in bad_bundles(_bundle(built, Precision.INT8_WEIGHTS)):
        path = tmp_path / bad.name
        path.write_bytes(bad.data)
        with pytest.raises(BundleError, match=bad.python_message):
            check_model(read_bundle(path))


def test_cli_refuses_a_bad_bundle_in_one_line(built, tmp_path, excerpt):
    song = tmp_path / "song.wav"
    sf.write(song, excerpt[:44100], 44100)
    bad = next(b for b in bad_bundles(_bundle(built, Precision.INT8_WEIGHTS)) if b.name.startswith("html-stem"))
    (tmp_path / bad.name).write_bytes(bad.data)
    _assert_clean_failure(_demixer("separate", song, "--bundle", tmp_path / bad.name), "stem name", "not allowed")


def test_cli_runs_noise_through_a_bundle_and_refuses_a_wrong_output_shape(built, tmp_path, excerpt):
    """The tiny model's masks have 2 stems where its descriptor declares 4: the tensor names and
    onnxruntime's loading pass, only running it shows it. Nothing is written."""
    song = tmp_path / "song.wav"
    sf.write(song, excerpt[:44100], 44100)
    bad = next(b for b in bad_bundles(_bundle(built, Precision.INT8_WEIGHTS)) if b.name.startswith("wrong-output"))
    (tmp_path / bad.name).write_bytes(bad.data)
    result = _demixer("separate", song, "-o", tmp_path / "stems", "--bundle", tmp_path / bad.name)
    _assert_clean_failure(result, "output masks has", "declares nb_patches,nb_stems,nb_channels,nb_frames,nb_bins")
    assert not (tmp_path / "stems").exists()


def test_separate_with_a_bundle_equals_separate_with_the_build(built, tmp_path, excerpt):
    song = tmp_path / "song.wav"
    sf.write(song, excerpt[: 44100 * 4], 44100)
    models = built / "models"
    by_build = separate_file(song, tmp_path / "build", models, DemixOptions(precision=Precision.FP32))
    bundle = _bundle(built, Precision.FP32)
    by_bundle = separate_file(song, tmp_path / "bundle", tmp_path / "nowhere", DemixOptions(bundle=bundle))
    assert [p.name for p in by_bundle.paths] == [p.name for p in by_build.paths]
    for ours, theirs in zip(by_bundle.paths, by_build.paths, strict=True):
        assert np.array_equal(sf.read(ours)[0], sf.read(theirs)[0])
    assert not list(tmp_path.glob("**/*.onnx"))  # the unpacked model is not left behind


def test_a_bundle_declaring_a_huge_model_is_refused_before_reading_it(built, tmp_path):
    bad = next(b for b in bad_bundles(_bundle(built, Precision.INT8_WEIGHTS)) if b.name.startswith("declares"))
    path = tmp_path / bad.name
    path.write_bytes(bad.data)
    with zipfile.ZipFile(path) as archive:
        assert archive.getinfo(MODEL_PART).file_size == 10 * 10**9
    with pytest.raises(BundleError, match="10,000,000,000 bytes"):
        read_bundle(path)


@pytest.mark.parametrize("kind", HOSTILE_KINDS)
def test_cli_refuses_a_hostile_bundle_within_its_deadline(built, tmp_path, excerpt, kind):
    """Valid in every field, hostile only when run (tests/bundle_files.py hostile_onnx): the check
    runs in a child process killed at its deadline (here lowered to 3 s by --check-s, the same
    code path as the default 60 s). Before: the Loop's check ran for days."""
    song = tmp_path / "song.wav"
    sf.write(song, excerpt[:44100], 44100)
    path = tmp_path / f"{kind}.demixer"
    path.write_bytes(hostile_bundles(_bundle(built, Precision.INT8_WEIGHTS))[kind])
    deadline = check_deadline_s(path.stat().st_size, 3)
    started = time.monotonic()
    result = _demixer("separate", song, "-o", tmp_path / "stems", "--bundle", path, "--check-s", 3, timeout=60)
    elapsed = time.monotonic() - started
    print(f"{kind}: refused in {elapsed:.1f} s (deadline {deadline} s): {result.stderr.strip()}")
    words = {"loop": f"did not finish within {deadline} s", "constant-of-shape": "failed on a test signal"}
    _assert_clean_failure(result, words[kind])
    assert elapsed <= deadline + 5, elapsed
    assert not (tmp_path / "stems").exists()
