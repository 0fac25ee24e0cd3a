"""Make tests/data/excerpt-aac.m4a: the first 8 s of tests/data/excerpt.flac as AAC-LC in MP4
(44.1 kHz stereo, 128 kb/s), for the streamed decode of MP4/AAC (mediabunny + WebCodecs) against
Web Audio's. soundfile cannot write AAC and there is no ffmpeg binary here; made once
(2026-11-25) with PyAV (its wheel bundles FFmpeg's AAC encoder), which the project does not
depend on:

    pip install av==18.1.0 && python scripts/make_aac_clip.py
"""

from pathlib import Path

import av
import numpy as np
import soundfile as sf

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"


def main() -> None:
    audio, rate = sf.read(DATA / "excerpt.flac", dtype="float32")
    audio = np.ascontiguousarray(audio[: rate * 8].T)
    with av.open(str(DATA / "excerpt-aac.m4a"), "w", format="mp4") as out:
        stream = out.add_stream("aac", rate=rate)
        stream.layout = "stereo"
        stream.bit_rate = 128_000
        frame = av.AudioFrame.from_ndarray(audio, format="fltp", layout="stereo")
        frame.sample_rate = rate
        frame.pts = 0  # so that the encoder's priming gets negative times: the muxer's edit list skips it
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


if __name__ == "__main__":
    main()
