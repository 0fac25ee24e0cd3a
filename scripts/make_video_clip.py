"""Make tests/data/video-clip.webm: a 5-second video (VP8, 64x48, grey ramp) whose audio track
(Opus, 48 kHz stereo) is the first 5 s of tests/data/excerpt.flac. The extension must separate the
audio of a video file. Made once (2026-11-24) with PyAV, which the project does not depend on:

    pip install av==18.1.0 && python scripts/make_video_clip.py
"""

from pathlib import Path

import av
import numpy as np
import soundfile as sf

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"


def main() -> None:
    audio, rate = sf.read(DATA / "excerpt.flac", dtype="float32")
    audio = audio[: rate * 5]
    with av.open(str(DATA / "video-clip.webm"), "w") as out:
        video = out.add_stream("libvpx", rate=10)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        sound = out.add_stream("libopus", rate=48000)
        sound.layout = "stereo"
        for i in range(50):
            picture = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 5, np.uint8), format="rgb24")
            for packet in video.encode(picture):
                out.mux(packet)
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(audio.T), format="fltp", layout="stereo")
        frame.sample_rate = rate
        for resampled in av.AudioResampler(format="fltp", layout="stereo", rate=48000).resample(frame):
            for packet in sound.encode(resampled):
                out.mux(packet)
        for stream in (sound, video):
            for packet in stream.encode(None):
                out.mux(packet)


if __name__ == "__main__":
    main()
