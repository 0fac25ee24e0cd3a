"""A loopback "video site" for sync-mode tests and benches: real music with a known voice, cut
into DASH segments by ffmpeg (fragmented MP4 with AAC, or WebM with Opus; a small VP9 picture
beside it), played by a page that appends them the way hls.js / shaka-player / dash.js do:
separate audio and video SourceBuffers, an init segment then media segments, about 30 s
buffered ahead of the playhead, played ranges removed behind it, `abort()` on a seek, a new
MediaSource for an "ad" and back.

    clip = make_clip(root, "song", "mp4", wesnoth_track("loyalists.ogg"), 20, 40)
    server, base = serve_directory(root)
    page = f"{base}/player.html?clip=song"          # window.player is the test's handle

The page's handle (``window.player``): ``play()``, ``pause()``, ``seek(t)``, ``setRate(r)``,
``playAd(name)`` (the clip ``name`` in a new MediaSource, then back to the song where it was),
``state()`` (time, paused, ended, rate, buffered ranges per track, appends made), ``events``
(what the player did, with ``performance.now()``). The voice is espeak-ng speech placed in
phrases over the music; its true stems are kept for the tests (``Clip.vocals``/``accompaniment``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import soundfile as sf
import soxr

RATE = 44100
Codec = Literal["mp4", "webm"]
SEGMENT_S = 4  # hls.js / DASH sites use 2-6 s segments
VOICES = ("en", "en-us", "en-gb-scotland", "en-gb-x-rp", "en-029")
PHRASES = (
    "When the sunlight strikes raindrops in the air, they act as a prism and form a rainbow.",
    "The rainbow is a division of white light into many beautiful colours.",
    "These take the shape of a long round arch, with its path high above.",
    "There is, according to legend, a boiling pot of gold at one end.",
    "People look, but no one ever finds it.",
)
_MPD = "{urn:mpeg:dash:schema:mpd:2011}"


@dataclass(frozen=True)
class Clip:
    """A clip of the site: what was encoded (``mixture`` = ``vocals`` + ``accompaniment``, float32
    (frames, 2) at 44.1 kHz) and where its segments are (``root / name``)."""

    name: str
    codec: Codec
    folder: Path
    duration_s: float
    mixture: np.ndarray
    vocals: np.ndarray
    accompaniment: np.ndarray


def _need(tool: str) -> None:
    if not shutil.which(tool):
        raise RuntimeError(f"{tool} is needed to make the video site (Makefile APT_PKGS)")


def voice_track(frames: int, seed: int = 0) -> np.ndarray:
    """espeak-ng phrases in several voices, each followed by a pause, filling ``frames`` frames
    of stereo at 44.1 kHz (centred)."""
    _need("espeak-ng")
    out = np.zeros(frames, np.float32)
    rng = np.random.default_rng(seed)
    at = int(rng.uniform(0.5, 2.0) * RATE)
    i = seed
    while at < frames:
        voice, text = VOICES[i % len(VOICES)], PHRASES[i % len(PHRASES)]
        wav = subprocess.run(
            ["espeak-ng", "-v", voice, "-s", "150", "-p", str(40 + 10 * (i % 3)), "--stdout", text],
            check=True, capture_output=True,
        ).stdout  # fmt: skip
        import io

        speech, rate = sf.read(io.BytesIO(wav), dtype="float32")
        speech = soxr.resample(speech, rate, RATE).astype(np.float32)
        end = min(frames, at + len(speech))
        out[at:end] += speech[: end - at]
        at = end + int(rng.uniform(1.0, 3.0) * RATE)
        i += 1
    return np.stack([out, out], axis=1)


def _music(path: Path, offset_s: float, duration_s: float) -> np.ndarray:
    music, rate = sf.read(path, dtype="float32", always_2d=True)
    if rate != RATE:
        music = soxr.resample(music, rate, RATE).astype(np.float32)
    if music.shape[1] == 1:
        music = np.repeat(music, 2, axis=1)
    start = int(offset_s * RATE)
    piece = music[start : start + int(duration_s * RATE)]
    if len(piece) < int(duration_s * RATE):  # loop a short track to the length asked for
        reps = int(np.ceil(duration_s * RATE / len(music)))
        piece = np.tile(music, (reps + 1, 1))[start : start + int(duration_s * RATE)]
    return np.ascontiguousarray(piece[:, :2])


def make_clip(
    root: Path, name: str, codec: Codec, music: Path, offset_s: float, duration_s: float, seed: int = 0
) -> Clip:
    """Write the clip ``name`` (segments, ``name/manifest.json``) under ``root`` with
    ``player.html``; the music is ``duration_s`` of ``music`` from ``offset_s``, the voice at the
    music's RMS."""
    _need("ffmpeg")
    accompaniment = _music(music, offset_s, duration_s)
    vocals = voice_track(len(accompaniment), seed)
    voiced = np.abs(vocals[:, 0]) > 1e-4
    rms = lambda x: float(np.sqrt(np.mean(x**2)))  # noqa: E731
    vocals *= rms(accompaniment) / max(rms(vocals[voiced]), 1e-9)
    mixture = accompaniment + vocals
    peak = float(np.max(np.abs(mixture)))
    if peak > 0.89:  # room for the codec's overshoot
        scale = 0.89 / peak
        mixture, vocals, accompaniment = mixture * scale, vocals * scale, accompaniment * scale
    folder = root / name
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    source = folder / "source.wav"
    sf.write(source, mixture, RATE, subtype="FLOAT")
    _segment(source, folder, codec, duration_s)
    source.unlink()
    (root / "player.html").write_text(PLAYER_PAGE)
    return Clip(name, codec, folder, duration_s, mixture.astype(np.float32), vocals.astype(np.float32),
                accompaniment.astype(np.float32))  # fmt: skip


def _segment(source: Path, folder: Path, codec: Codec, duration_s: float) -> None:
    audio = ["-c:a", "aac", "-b:a", "160k", "-ar", str(RATE)] if codec == "mp4" else ["-c:a", "libopus", "-b:a", "160k"]
    fps = 15
    subprocess.run(
        ["ffmpeg", "-nostdin", "-y", "-loglevel", "error", "-i", str(source),
         "-f", "lavfi", "-i", f"testsrc2=size=160x90:rate={fps}:duration={duration_s}",
         "-map", "1:v", "-map", "0:a", "-c:v", "libvpx-vp9", "-b:v", "80k", "-deadline", "realtime",
         "-cpu-used", "8", "-g", str(fps * SEGMENT_S), "-keyint_min", str(fps * SEGMENT_S), *audio,
         "-map_metadata", "-1", "-f", "dash", "-seg_duration", str(SEGMENT_S), "-use_template", "1",
         "-use_timeline", "1", "-dash_segment_type", codec,
         "-init_seg_name", "init-$RepresentationID$.$ext$",
         "-media_seg_name", "seg-$RepresentationID$-$Number%05d$.$ext$", str(folder / "manifest.mpd")],
        check=True,
    )  # fmt: skip
    (folder / "manifest.json").write_text(json.dumps(_manifest(folder / "manifest.mpd"), indent=1))


def _manifest(mpd: Path) -> dict:
    """The MPD's two adaptation sets as the page wants them: per track its MIME type with codecs,
    init segment and media segments with their start and length in seconds."""
    tree = ET.parse(mpd).getroot()
    tracks = {}
    for adaptation in tree.iter(f"{_MPD}AdaptationSet"):
        rep = adaptation.find(f"{_MPD}Representation")
        template = rep.find(f"{_MPD}SegmentTemplate")
        if template is None:
            template = adaptation.find(f"{_MPD}SegmentTemplate")
        mime = rep.get("mimeType") or adaptation.get("mimeType")
        kind = "audio" if mime.startswith("audio") else "video"
        rid = rep.get("id")
        scale = int(template.get("timescale", "1"))
        number = int(template.get("startNumber", "1"))
        media = template.get("media").replace("$RepresentationID$", rid)
        segments, t = [], 0
        for s in template.find(f"{_MPD}SegmentTimeline"):
            t = int(s.get("t", t))
            for _ in range(int(s.get("r", "0")) + 1):
                d = int(s.get("d"))
                url = media.replace("$Number%05d$", f"{number:05d}")
                segments.append({"url": url, "start": t / scale, "duration": d / scale})
                t += d
                number += 1
        tracks[kind] = {
            "type": f'{mime}; codecs="{rep.get("codecs")}"',
            "init": template.get("initialization").replace("$RepresentationID$", rid),
            "segments": segments,
        }
    duration = tree.get("mediaPresentationDuration", "PT0S")
    return {"tracks": tracks, "duration": _iso_seconds(duration)}


def _iso_seconds(text: str) -> float:
    """'PT1M5.3S' -> 65.3"""
    text, total = text.removeprefix("PT"), 0.0
    for unit, factor in (("H", 3600), ("M", 60), ("S", 1)):
        if unit in text:
            value, text = text.split(unit, 1)
            total += float(value) * factor
    return total


# The site's player: one <video>, one MediaSource per presentation, a SourceBuffer per track fed
# segment by segment as hls.js's stream controllers do (fetch, append, wait for updateend).
PLAYER_PAGE = r"""<!doctype html><meta charset="utf-8"><title>Video site</title>
<style>body{font:14px sans-serif;margin:1em}video{width:320px;background:#000}</style>
<video playsinline></video><p><button id="play">Play</button> <span id="time"></span></p>
<script>
const AHEAD_S = Number(new URLSearchParams(location.search).get('ahead') ?? 30);
const BACK_S = Number(new URLSearchParams(location.search).get('back') ?? 10);
const video = document.querySelector('video');
const events = [];
const log = (what, extra = {}) => events.push({what, at: performance.now(), t: video.currentTime, ...extra});
let presentation = null;   // the clip playing now: {name, manifest, source, tracks, generation}
let generation = 0;
let appends = 0;

async function load(name, startAt = 0) {
  const manifest = await (await fetch(`${name}/manifest.json`)).json();
  const source = new MediaSource();
  const mine = ++generation;
  presentation = {name, manifest, source, tracks: {}, generation: mine, ended: false};
  video.src = URL.createObjectURL(source);
  await new Promise((ok) => source.addEventListener('sourceopen', ok, {once: true}));
  source.duration = manifest.duration;
  // every SourceBuffer first (a MediaSource takes no new one once media is appended), then the inits
  for (const [kind, track] of Object.entries(manifest.tracks)) {
    const buffer = source.addSourceBuffer(track.type);
    presentation.tracks[kind] = {kind, track, buffer, next: 0, busy: false, done: false};
  }
  for (const state of Object.values(presentation.tracks)) await append(state, `${name}/${state.track.init}`, mine);
  log('load', {name, startAt});
  if (startAt) video.currentTime = startAt;
  for (const state of Object.values(presentation.tracks)) pump(state, mine);
}

async function append(state, url, mine) {
  const bytes = await (await fetch(url)).arrayBuffer();
  if (mine !== generation) return false;
  await new Promise((ok, ko) => {
    state.buffer.addEventListener('updateend', ok, {once: true});
    state.buffer.addEventListener('error', ko, {once: true});
    state.buffer.appendBuffer(bytes);
  });
  appends += 1;
  return mine === generation;
}

function bufferedEnd(buffer, at) {
  const ranges = buffer.buffered;
  for (let i = 0; i < ranges.length; i++) {
    if (ranges.start(i) <= at + 0.1 && at < ranges.end(i)) return ranges.end(i);
  }
  return at;
}

function segmentAt(track, at) {
  const i = track.segments.findIndex((s) => s.start + s.duration > at);
  return i < 0 ? track.segments.length : i;
}

async function pump(state, mine) {
  if (state.busy || mine !== generation) return;
  state.busy = true;
  try {
    while (mine === generation) {
      const now = video.currentTime;
      // evict what was played, as players do to keep within the browser's buffer quota
      const ranges = state.buffer.buffered;
      if (ranges.length && now - ranges.start(0) > BACK_S + 1 && !state.buffer.updating) {
        const to = now - BACK_S;
        await new Promise((ok) => {
          state.buffer.addEventListener('updateend', ok, {once: true});
          state.buffer.remove(0, to);
        });
        log('remove', {kind: state.kind, to});
        continue;
      }
      const segments = state.track.segments;
      if (state.next >= segments.length) {
        state.done = true;
        if (Object.values(presentation.tracks).every((s) => s.done) && presentation.source.readyState === 'open') {
          presentation.source.endOfStream();
          log('end-of-stream');
        }
        break;
      }
      if (bufferedEnd(state.buffer, now) - now >= AHEAD_S) break;
      const segment = segments[state.next];
      state.next += 1;
      if (!(await append(state, `${presentation.name}/${segment.url}`, mine))) break;
      log('append', {kind: state.kind, start: segment.start});
    }
  } catch (error) {
    log('error', {message: String(error)});
  } finally {
    state.busy = false;
  }
}

setInterval(() => {
  if (!presentation) return;
  for (const state of Object.values(presentation.tracks)) pump(state, presentation.generation);
  document.getElementById('time').textContent = video.currentTime.toFixed(1);
}, 250);

video.addEventListener('seeking', () => {
  if (!presentation) return;
  const at = video.currentTime;
  log('seeking');
  for (const state of Object.values(presentation.tracks)) {
    if (state.buffer.updating) state.buffer.abort(); // as hls.js does on a seek
    if (bufferedEnd(state.buffer, at) === at) state.next = segmentAt(state.track, at);
    state.done = false;
    state.busy = false;
  }
  generation += 1; // appends in flight for the old position are dropped
  presentation.generation = generation;
  for (const state of Object.values(presentation.tracks)) pump(state, generation);
});
for (const type of ['play', 'pause', 'ended', 'ratechange', 'waiting', 'playing', 'seeked']) {
  video.addEventListener(type, () => log(type));
}

let main = null; // where the song was when an ad took over
window.player = {
  events,
  load,
  play: () => video.play(),
  pause: () => video.pause(),
  seek: (t) => { video.currentTime = t; },
  setRate: (r) => { video.playbackRate = r; },
  async playAd(name) {
    main = {name: presentation.name, at: video.currentTime};
    await load(name);
    video.addEventListener('ended', async () => {
      await load(main.name, main.at);
      video.play();
    }, {once: true});
    return video.play();
  },
  state() {
    const buffered = {};
    for (const [kind, s] of Object.entries(presentation?.tracks ?? {})) {
      const ranges = s.buffer.buffered;
      buffered[kind] = Array.from({length: ranges.length}, (_, i) => [ranges.start(i), ranges.end(i)]);
    }
    return {name: presentation?.name, time: video.currentTime, paused: video.paused, ended: video.ended,
            rate: video.playbackRate, buffered, appends, src: video.src};
  },
};
document.getElementById('play').addEventListener('click', () => video.play());
const params = new URLSearchParams(location.search);
if (params.get('clip')) load(params.get('clip'), Number(params.get('start') ?? 0)).then(() => {
  if (params.get('autoplay') === '1') video.play().catch((e) => log('autoplay-refused', {message: String(e)}));
});
</script>
"""
