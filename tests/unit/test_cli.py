"""`demixer separate`: real songs, odd inputs, and clear one-line failures."""

import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from builder.audio_io import SampleFormat, StemWriter
from builder.demix import DemixOptions, separate_file
from builder.validate import sdr_db
from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def _demixer(*args, timeout=300):
    cmd = [sys.executable, "-m", "builder.cli", *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=timeout, check=False)


def _assert_clean_failure(result, *words):
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("demixer: error: "), result.stderr
    for word in words:
        assert word in lines[0]


def test_missing_file(built, tmp_path):
    _assert_clean_failure(_demixer("separate", tmp_path / "nope.mp3", "--dist", built), "no such file")


def test_not_audio(built, tmp_path):
    fake = tmp_path / "notes.wav"
    fake.write_text("these are not samples\n" * 50)
    _assert_clean_failure(_demixer("separate", fake, "--dist", built), "cannot decode", "notes.wav")


def test_empty_audio(built, tmp_path):
    empty = tmp_path / "empty.wav"
    sf.write(empty, np.zeros((0, 2), dtype=np.float32), 44100)
    _assert_clean_failure(_demixer("separate", empty, "--dist", built), "no audio samples")


def test_model_not_built(tmp_path, excerpt):
    song = tmp_path / "song.wav"
    sf.write(song, excerpt[:44100], 44100)
    _assert_clean_failure(_demixer("separate", song, "--dist", tmp_path / "empty"), "demixer build")


def test_8khz_mono_is_separated_at_its_own_rate(built, tmp_path, excerpt):
    mono = excerpt[:, 0][::4][: 8000 * 5]  # crude decimation is fine: any 8 kHz mono signal
    song = tmp_path / "phone call.wav"
    sf.write(song, mono, 8000)
    result = _demixer("separate", song, "-o", tmp_path / "out", "--dist", built)
    assert result.returncode == 0, result.stderr
    for stem in ("vocals", "accompaniment"):
        data, rate = sf.read(tmp_path / "out" / f"phone call-{stem}.wav")
        assert rate == 8000 and data.shape == (len(mono), 2)


def test_three_minute_real_track(built, tmp_path, wesnoth_track):
    song = wesnoth_track("loyalists.ogg")  # 179.5 s, orchestral
    result = _demixer("separate", song, "-o", tmp_path, "--format", "float", "--dist", built)
    assert result.returncode == 0, result.stderr
    mix, _rate = sf.read(song, dtype="float32")
    stems = [sf.read(tmp_path / f"loyalists-{s}.wav", dtype="float32")[0] for s in ("vocals", "accompaniment")]
    assert all(s.shape == mix.shape for s in stems)
    # Spleeter's 2stems masks are ratio masks: the stems sum to the mixture below ~11 kHz.
    assert sdr_db(mix, stems[0] + stems[1]) > 30


def test_average_high_band_keeps_the_sum_of_stems_equal_to_the_mixture(built, tmp_path, excerpt):
    song = tmp_path / "bright.wav"
    hiss = np.random.default_rng(1).normal(0, 0.05, excerpt.shape).astype(np.float32)
    sf.write(song, np.clip(excerpt + hiss, -1, 1), 44100, subtype="FLOAT")  # energy above 11 kHz
    mix = sf.read(song, dtype="float32")[0]
    sums = {}
    for mode in ("zeros", "average"):
        out = tmp_path / mode
        result = _demixer("separate", song, "-o", out, "--high-band", mode, "--format", "float", "--dist", built)
        assert result.returncode == 0, result.stderr
        stems = [sf.read(out / f"bright-{s}.wav", dtype="float32")[0] for s in ("vocals", "accompaniment")]
        sums[mode] = sdr_db(mix, stems[0] + stems[1])
    assert sums["average"] > 60
    assert sums["zeros"] < 20  # the hiss above 11 kHz is gone from both stems


def test_interrupted_separation_leaves_no_partial_stems(built, tmp_path, excerpt):
    song = tmp_path / "long.wav"
    sf.write(song, np.tile(excerpt, (3, 1)), 44100)

    def interrupt(progress):
        raise KeyboardInterrupt

    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        separate_file(song, out, built / "models", DemixOptions(), interrupt)
    assert list(out.iterdir()) == []


# Runs the CLI in a fresh interpreter and reports which heavy modules it loaded.
_LOADED = """
import sys, time
started = time.perf_counter()
from builder.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(sorted(m for m in ("torch", "onnx", "demucs") if m in sys.modules), round(time.perf_counter() - started, 2))
"""


def _loaded_by(*args):
    result = subprocess.run([sys.executable, "-c", _LOADED, *map(str, args)], capture_output=True, text=True,
                            cwd=ROOT, timeout=300, check=True)  # fmt: skip
    modules, seconds = result.stdout.strip().splitlines()[-1].rsplit(" ", 1)
    return modules, float(seconds)


def test_separate_and_help_do_not_import_torch(built, tmp_path, excerpt):
    """torch is for the build only: `demixer separate` and `--help` start without it."""
    song = tmp_path / "song.wav"
    sf.write(song, excerpt[: 44100 * 2], 44100)
    modules, seconds = _loaded_by("separate", song, "-o", tmp_path / "stems", "--dist", built)
    assert "torch" not in modules, modules
    assert len(list((tmp_path / "stems").glob("*.wav"))) == 2
    modules, seconds = _loaded_by("--help")
    print(f"demixer --help: {seconds:.2f} s in-process start-up, loaded {modules}")
    assert "torch" not in modules, modules


def test_nan_inf_and_huge_samples_are_replaced_and_counted(built, tmp_path, excerpt):
    """Finding 3 of issue #18: the native CLI replaces them by silence, says how many, and the
    stems around them still carry the music (stems are finite in every format)."""
    song = excerpt[: 44100 * 6].copy()
    song[44100 * 3, 0] = np.nan
    song[44100 * 3 + 10 : 44100 * 3 + 13, 1] = [np.inf, -np.inf, 1e30]
    path = tmp_path / "odd.wav"
    sf.write(path, song, 44100, subtype="FLOAT")
    for fmt in ("pcm16", "float"):
        result = _demixer("separate", path, "-o", tmp_path / fmt, "--format", fmt, "--dist", built)
        assert result.returncode == 0, result.stderr
        assert "3 samples were not numbers and were replaced by silence." in result.stderr
        assert "1 sample was beyond \u00b11000 and was replaced by silence." in result.stderr
        for stem in ("vocals", "accompaniment"):
            data, _ = sf.read(tmp_path / fmt / f"odd-{stem}.wav", dtype="float32")
            assert np.isfinite(data).all()
            around = data[44100 * 2 : 44100 * 4]
            assert np.sqrt(np.mean(around**2)) > 1e-3, (fmt, stem)  # not silenced around the NaN


def test_a_file_of_out_of_range_samples_is_refused(built, tmp_path, excerpt):
    path = tmp_path / "integers as floats.wav"
    sf.write(path, excerpt[:44100] * 32768, 44100, subtype="FLOAT")  # 16-bit values, float type
    _assert_clean_failure(_demixer("separate", path, "--dist", built), "beyond \u00b11000", "damaged")


@pytest.mark.parametrize("fmt", list(SampleFormat))
def test_stem_writer_never_writes_nan_or_infinity(tmp_path, fmt):
    block = np.array([[np.nan, np.inf], [-np.inf, 1e30], [0.5, -2.0]], dtype=np.float32)
    writer = StemWriter(tmp_path / "s.wav", 44100, 44100, fmt)
    writer.write(block, last=True)
    writer.close()
    data, _ = sf.read(tmp_path / "s.wav", dtype="float64")
    assert np.isfinite(data).all()
    assert data[0, 0] == 0 and data[2, 0] == pytest.approx(0.5, abs=1e-4)
    assert data[2, 1] == (-2.0 if fmt is SampleFormat.FLOAT else -1.0)
