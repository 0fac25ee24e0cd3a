"""HTDemucs (Demucs v4, hybrid transformer; Rouard, Massa and Défossez, 2023) from a user's checkpoint.

The architecture is demucs's own code (PyPI ``demucs==4.0.1``); this module only

* imports it without its audio I/O stack (``torchaudio`` has no build for torch 2.13),
* rebuilds a model from a checkpoint file in demucs's own package format
  (``{"klass", "args", "kwargs", "state"}``, what ``demucs.states.serialize_model`` writes),
* wraps the part that is exported to ONNX: :class:`HTDemucsCore`, i.e. ``HTDemucs.forward``
  between the STFT and the iSTFT. The STFT, the iSTFT, the overlap-add of segments and the
  input normalisation run outside the graph (``builder/segments.py`` natively, the browser's
  DSP in the extension), exactly as ``demucs.apply.apply_model`` arranges them.

Shapes: ``mix`` (1, nb_channels, segment_length); ``spec`` the complex-as-channels spectrogram
(1, 2 * nb_channels, nb_bins = n_fft // 2, nb_frames = segment_length / n_hop); outputs ``wave``
(1, nb_stems, nb_channels, segment_length) from the time branch and ``spec_out``
(1, nb_stems, 2 * nb_channels, nb_bins, nb_frames) from the spectral branch; stems are
``wave + istft(spec_out)``.
"""

from __future__ import annotations

import copy
import importlib.util
import sys
import types
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from models.errors import CheckpointFormatError

# The published ``htdemucs`` model's constructor arguments (demucs's conf/config.yaml ``htdemucs``
# section with the release's override ``bottom_channels=512``, ``segment`` 7.8 s; sources in the
# release's order). Used for the seeded random model of the tests; a user's checkpoint brings its own.
PUBLISHED_HTDEMUCS = {
    "sources": ["drums", "bass", "other", "vocals"],
    "audio_channels": 2,
    "samplerate": 44100,
    "segment": Fraction(39, 5),
    "bottom_channels": 512,
}
# The same layers at a fraction of the width, depth of transformer and segment (0.4 M parameters
# instead of 41.5 M): every code path of the published model (both branches, the cross-transformer,
# the bottom convolutions) at ~1/100 of its cost, for tests and memory benchmarks that need many segments.
REDUCED_HTDEMUCS = {"channels": 8, "t_layers": 1, "bottom_channels": 64, "segment": Fraction(3)}


def import_demucs() -> types.ModuleType:
    """``demucs`` without torchaudio: ``openunmix/__init__`` imports torchaudio, but HTDemucs needs
    only ``openunmix.filtering`` (torch-only), so the package is registered without running its
    ``__init__`` (2026-11-24: no torchaudio wheel matches torch 2.13)."""
    if "openunmix" not in sys.modules:
        found = importlib.util.find_spec("openunmix")
        if found is None or found.origin is None:
            raise ModuleNotFoundError("HTDemucs needs demucs: make setup installs it (see Makefile)")
        package = types.ModuleType("openunmix")
        package.__path__ = [str(Path(found.origin).parent)]
        sys.modules["openunmix"] = package
    import demucs.htdemucs

    return demucs


def random_htdemucs(seed: int, **overrides) -> nn.Module:
    """The published architecture with seeded random weights (demucs's own initialisation)."""
    import_demucs()
    from demucs.htdemucs import HTDemucs

    torch.manual_seed(seed)
    return HTDemucs(**{**PUBLISHED_HTDEMUCS, **overrides}).eval()


def save_package(model: nn.Module, path: Path) -> Path:
    """Save like ``demucs.states.serialize_model`` (fp32 state, no training args)."""
    args, kwargs = model._init_args_kwargs
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    torch.save({"klass": type(model), "args": args, "kwargs": kwargs, "state": state}, path)
    return path


def load_package(path: Path) -> nn.Module:
    """Rebuild the model a demucs checkpoint file describes.

    A demucs checkpoint is a pickle (it names its model class), so it is loaded with
    ``weights_only=False``, as demucs itself does: convert only checkpoints you trust.
    """
    import_demucs()
    from demucs.htdemucs import HTDemucs
    from demucs.states import load_model

    try:
        package = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as error:  # a missing file, a truncated or foreign pickle: all the user's to fix
        raise CheckpointFormatError(f"{path}: not a readable demucs checkpoint ({error})") from error
    if not isinstance(package, dict) or not {"klass", "args", "kwargs", "state"} <= set(package):
        raise CheckpointFormatError(f"{path}: not a demucs model package (klass/args/kwargs/state)")
    if package["klass"] is not HTDemucs:
        name = getattr(package["klass"], "__name__", "?")
        raise CheckpointFormatError(f"{path}: a {name}, not an HTDemucs (demucs v4)")
    model = load_model(package).eval()
    if not model.cac or not model.use_train_segment:
        raise CheckpointFormatError(f"{path}: only complex-as-channels HTDemucs with a training segment")
    return model


@dataclass(frozen=True)
class DemucsTransforms:
    """What demucs's STFT and iSTFT methods read from an ``HTDemucs``, without its network: the
    native ``separate`` runs the network from ONNX and needs only these (complex as channels,
    hop = n_fft / 4 as HTDemucs fixes it)."""

    nfft: int
    hop_length: int
    cac: bool = True
    wiener_iters: int = 0
    training: bool = False


def _demucs_class(model: nn.Module | DemucsTransforms) -> type:
    if isinstance(model, DemucsTransforms):
        import_demucs()
        from demucs.htdemucs import HTDemucs

        return HTDemucs
    return type(model)


def spectrogram(model: nn.Module | DemucsTransforms, mix: Tensor) -> Tensor:
    """demucs's STFT of ``mix`` (1, nb_channels, segment_length) as the core's ``spec`` input.

    Calls the class's methods, so it also works on an :class:`HTDemucsCore`'s patched copy."""
    klass = _demucs_class(model)
    return klass._magnitude(model, klass._spec(model, mix))


def spectral_waveform(model: nn.Module | DemucsTransforms, spec_out: Tensor, length: int) -> Tensor:
    """demucs's iSTFT of the core's ``spec_out``: (1, nb_stems, nb_channels, length)."""
    klass = _demucs_class(model)
    return klass._ispec(model, klass._mask(model, None, spec_out), length)


class HTDemucsCore(nn.Module):
    """``HTDemucs.forward`` without its STFT and iSTFT: what is exported to ONNX.

    demucs's forward computes the spectrogram, runs both branches, then applies the iSTFT and sums;
    the wrapped copy has ``_spec``/``_magnitude`` return the given spectrogram and ``_mask``/
    ``_ispec`` hand the spectral branch's output back untouched, so the exported graph is demucs's
    own forward, line for line, minus the two transforms.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = copy.deepcopy(model).eval()
        self.model._spec = lambda mix: None
        self.model._magnitude = lambda z: self._spec_in
        self.model._mask = self._capture
        self.model._ispec = lambda z, length: torch.zeros((), dtype=z.dtype)
        self._spec_in: Tensor | None = None
        self._spec_out: Tensor | None = None

    def _capture(self, z, x: Tensor) -> Tensor:
        self._spec_out = x
        return x

    def forward(self, mix: Tensor, spec: Tensor) -> tuple[Tensor, Tensor]:
        self._spec_in = spec
        wave = self.model(mix)  # time branch + 0 (the patched _ispec)
        return wave, self._spec_out

    @property
    def segment_length(self) -> int:
        return int(self.model.segment * self.model.samplerate)


def reference_stems(model: nn.Module, waveform: np.ndarray) -> np.ndarray:
    """What ``demucs.separate`` gives, without shifts: normalise by the mono mix, ``apply_model``
    (segments of the training length, overlap 0.25), denormalise. ``waveform`` (nb_samples,
    nb_channels) -> (nb_stems, nb_samples, nb_channels)."""
    from demucs.apply import apply_model

    mix = torch.from_numpy(waveform.T.copy())
    ref = mix.mean(0)
    normalised = (mix - ref.mean()) / ref.std()
    with torch.no_grad():
        stems = apply_model(model, normalised[None], shifts=0, split=True, overlap=0.25)[0]
    return (stems * ref.std() + ref.mean()).numpy().transpose(0, 2, 1)
