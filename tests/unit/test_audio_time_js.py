"""inference/audio-time.js under Node against real files: the audio time it reads from the
container's headers, fed in chunks of odd sizes as a download brings them, matches ffprobe's
duration (Ogg Vorbis of a wesnoth track, Ogg Opus, MP3 with an ID3v2 tag, MP2, ADTS AAC, a chained
Ogg as a radio sends its next track); the formats it does not cover say so and count nothing."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.node_tree import NODE, node_tree

pytestmark = pytest.mark.slow  # ffmpeg encodes (a few seconds)

TRACK = "loyalists.ogg"  # 179.5 s of Vorbis at 44.1 kHz
SCRIPT = """
import { readFileSync } from 'node:fs';
import { AudioTimeCounter } from './extension/inference/audio-time.js';
const out = {};
for (const path of process.argv.slice(1)) {
  const bytes = new Uint8Array(readFileSync(path));
  const counter = new AudioTimeCounter();
  // Chunk sizes as a network brings them: a byte, a few, a page-sized run, tens of KB.
  const sizes = [1, 3, 7, 27, 100, 4096, 65536, 13, 31000];
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const size = sizes[i % sizes.length];
    counter.push(bytes.subarray(at, at + size));
    at += size;
  }
  out[path] = { format: counter.format, seconds: counter.seconds };
}
console.log(JSON.stringify(out));
"""


def ffprobe_seconds(path: Path) -> float:
    """ffprobe's duration; for raw ADTS, whose "duration" ffprobe estimates from the bitrate,
    where its last packet ends."""
    if path.suffix == ".aac":
        entries = ["-show_entries", "packet=pts_time,duration_time"]
    else:
        entries = ["-show_entries", "format=duration"]
    done = subprocess.run(
        ["ffprobe", "-v", "error", *entries, "-of", "csv=p=0", str(path)], capture_output=True, text=True, check=True
    )
    last = done.stdout.split()[-1].strip(",").split(",")
    return sum(float(v) for v in last)


def encode(source: Path, target: Path, *args: str) -> Path:
    # 60 s of the track: the parts of the test that encode stay short.
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-t", "60", "-i", str(source), *args, str(target)], check=True, timeout=120
    )
    return target


@pytest.fixture(scope="module")
def files(wesnoth_track, tmp_path_factory):
    root = tmp_path_factory.mktemp("audio-time")
    track = wesnoth_track(TRACK)
    chained = root / "chained.ogg"
    chained.write_bytes(track.read_bytes() + wesnoth_track("victory.ogg").read_bytes())
    meta = ["-metadata", "title=A title long enough for a real ID3v2 tag"]
    return {
        "vorbis": track,
        "chained": chained,
        "opus": encode(track, root / "song.opus", "-c:a", "libopus", "-b:a", "96k"),
        "mp3": encode(track, root / "song.mp3", "-c:a", "libmp3lame", "-b:a", "128k", *meta),
        "mp3-22k": encode(track, root / "low.mp3", "-c:a", "libmp3lame", "-ar", "22050", "-b:a", "48k"),
        "mp2": encode(track, root / "song.mp2", "-c:a", "mp2", "-b:a", "192k"),
        "aac": encode(track, root / "song.aac", "-c:a", "aac", "-b:a", "128k", "-f", "adts"),
        "wav": encode(track, root / "song.wav"),
        "flac": encode(track, root / "song.flac"),
        "m4a": encode(track, root / "song.m4a", "-c:a", "aac"),
    }


@pytest.fixture(scope="module")
def counted(files):
    done = subprocess.run(
        [*NODE, "--input-type=module", "-e", SCRIPT, *map(str, files.values())],
        cwd=node_tree(), capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    by_path = json.loads(done.stdout)
    return {name: by_path[str(path)] for name, path in files.items()}


@pytest.mark.parametrize(
    ("name", "fmt"),
    [("vorbis", "ogg"), ("chained", "ogg"), ("opus", "ogg"), ("mp3", "mpeg"), ("mp3-22k", "mpeg"), ("mp2", "mpeg"),
     ("aac", "adts")],
)  # fmt: skip
def test_audio_time_matches_ffprobe(files, counted, name, fmt):
    got = counted[name]
    expected = (
        ffprobe_seconds(files["vorbis"]) + ffprobe_seconds(Path(str(files["vorbis"]).replace(TRACK, "victory.ogg")))
        if name == "chained"
        else ffprobe_seconds(files[name])
    )
    assert got["format"] == fmt, got
    # An encoder's priming frame (MP3's Xing/LAME header, AAC's first frame) counts as audio
    # here; ffprobe leaves some of it out: within 0.1 s.
    assert abs(got["seconds"] - expected) < 0.1, (name, got, expected)


@pytest.mark.parametrize("name", ["wav", "flac", "m4a"])
def test_formats_not_covered_count_nothing(counted, name):
    assert counted[name] == {"format": None, "seconds": 0}, counted[name]
