"""The numpy pipeline around the model: STFT, masks, iSTFT, chunking."""

import numpy as np
import pytest

from builder.separate import extend_masks, separate
from builder.validate import sdr_db
from models import catalog
from models.spec import MaskExtension

SPEC = catalog.get("spleeter-2stems").spec


def _constant_core(value: float):
    def core(magnitude):
        p, c, t, f = magnitude.shape
        return np.full((p, len(SPEC.stems), c, t, f), value, dtype=np.float32)

    return core


def _magnitude_core(magnitude):
    """A deterministic stand-in for the model whose masks depend on the input (and sum to 1)."""
    first = magnitude / (magnitude + 1.0)
    return np.stack([first, 1.0 - first], axis=1).astype(np.float32)


def test_unit_masks_with_average_extension_reconstruct_real_music(excerpt):
    stems = separate(excerpt, SPEC, _constant_core(1.0), mask_extension=MaskExtension.AVERAGE)
    assert stems.shape == (2, *excerpt.shape)
    assert sdr_db(excerpt, stems[0]) > 100


def test_stems_sum_to_the_mixture_below_the_model_band_only_with_zeros(excerpt):
    stems = separate(excerpt, SPEC, _magnitude_core, mask_extension=MaskExtension.ZEROS)
    total = stems.sum(axis=0)
    spectrum_mix, spectrum_sum = np.fft.rfft(excerpt[:, 0]), np.fft.rfft(total[:, 0])
    freqs = np.fft.rfftfreq(len(excerpt), 1 / SPEC.sample_rate)
    low, high = freqs < 10_000, freqs > 11_100
    low_error = np.sum(np.abs(spectrum_mix[low] - spectrum_sum[low]) ** 2)
    assert 10 * np.log10(np.sum(np.abs(spectrum_mix[low]) ** 2) / low_error) > 60
    # Above the cut only the Hann window's leakage across the 11 kHz edge is left (-26 dB here).
    assert np.sum(np.abs(spectrum_sum[high]) ** 2) < 1e-2 * np.sum(np.abs(spectrum_mix[high]) ** 2)


@pytest.mark.parametrize("length", [1, 441, 4095, 4096, 524_288 - 4096, 524_288 * 2 + 17])
def test_chunking_changes_nothing_and_keeps_length(excerpt, length):
    waveform = np.resize(excerpt, (length, 2)).astype(np.float32)
    whole = separate(waveform, SPEC, _magnitude_core, patches_per_chunk=8)
    chunked = separate(waveform, SPEC, _magnitude_core, patches_per_chunk=1)
    assert whole.shape == chunked.shape == (2, length, 2)
    np.testing.assert_allclose(chunked, whole, atol=1e-5)


def test_mask_extension_modes():
    masks = np.array([[0.2, 0.4]], dtype=np.float32)
    np.testing.assert_allclose(extend_masks(masks, 4, MaskExtension.ZEROS), [[0.2, 0.4, 0, 0]])
    np.testing.assert_allclose(extend_masks(masks, 4, MaskExtension.AVERAGE), [[0.2, 0.4, 0.3, 0.3]])
