"""inference/fetch-audio.js under Node, against a local server: `onAccepted` (separator.js starts
loading the model on it) is called once the server has answered with what may be audio, before
its body is read, and never for an answer the job fails on at its headers (an error status, a
web page, a live stream, a file over the size limit) or for a server that does not answer."""

import json
import subprocess

import pytest

from tests.node_tree import NODE, staged_script

SCRIPT = """
import http from 'node:http';
import { fetchAudio } from './inference/fetch-audio.js';

const body = Buffer.alloc(256 * 1024, 1);
const server = http.createServer((req, res) => {
  const route = {
    '/song.wav': () => {
      res.writeHead(200, {'content-type': 'audio/wav', 'content-length': body.length});
      res.end(body);
    },
    '/missing': () => { res.writeHead(404); res.end('no'); },
    '/page': () => { res.writeHead(200, {'content-type': 'text/html'}); res.end('<html></html>'); },
    '/radio': () => { res.writeHead(200, {'content-type': 'audio/mpeg', 'icy-name': 'r'}); res.write(body); },
    '/huge': () => { res.writeHead(200, {'content-type': 'audio/wav', 'content-length': 2 ** 40}); res.write(body); },
    '/silent': () => {},
  }[req.url];
  route();
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${server.address().port}`;
const results = {};
for (const path of ['/song.wav', '/missing', '/page', '/radio', '/huge', '/silent']) {
  const events = [];
  try {
    const blob = await fetchAudio(base + path, {
      signal: new AbortController().signal,
      headersS: 1,
      stallS: 1,
      maxBytes: 1024 ** 3,
      onAccepted: () => events.push('accepted'),
      onBytes: (received) => events.push(received > 0 ? 'bytes' : 'start'),
    });
    events.push(`done ${blob.size}`);
  } catch (error) {
    events.push(`failed ${error.message}`);
  }
  results[path] = events;
}
server.closeAllConnections();
server.close();
console.log(JSON.stringify(results));
"""


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    staged = staged_script(tmp_path_factory.mktemp("stage"), SCRIPT)
    done = subprocess.run([*NODE, "check.mjs"], cwd=staged, check=True, capture_output=True, text=True, timeout=60)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_audio_is_accepted_once_before_its_body(results):
    events = results["/song.wav"]
    assert events[0] == "accepted" and events.count("accepted") == 1, events
    assert events[-1] == f"done {256 * 1024}", events


@pytest.mark.parametrize("path", ["/missing", "/page", "/radio", "/huge", "/silent"])
def test_an_answer_the_job_fails_on_is_never_accepted(results, path):
    events = results[path]
    assert "accepted" not in events, events
    assert len(events) == 1 and events[0].startswith("failed "), events


# Length-less answers of real audio (issue #34): `liveWindowS` and `maxDurationS` are lowered
# as the e2e tests lower them; the rule and the bound are the ones the defaults take.
STREAMS = """
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { fetchAudio } from './inference/fetch-audio.js';

const [songPath, shortPath] = process.argv.slice(2);
const song = readFileSync(songPath);     // 179.5 s of Ogg Vorbis
const short = readFileSync(shortPath);   // 14.2 s of Ogg Vorbis
const rateOf = (bytes, seconds, factor) => (bytes.length / seconds) * factor;
// Send `body` in 4 KB pieces (0.4 s of this audio) at `rate` bytes/s (Infinity: at once),
// `repeat` times or without end.
const send = (res, body, rate, repeat) => {
  res.writeHead(200, { 'content-type': 'audio/ogg' }); // chunked: no length
  let at = 0;
  let round = 0;
  const next = () => {
    if (res.destroyed) return;
    if (at >= body.length) {
      at = 0;
      if (++round === repeat) return res.end();
    }
    const piece = body.subarray(at, at + 4096);
    at += piece.length;
    const more = res.write(piece);
    if (rate === Infinity) (more ? setImmediate(next) : res.once('drain', next));
    else setTimeout(next, (piece.length / rate) * 1000);
  };
  next();
};
const server = http.createServer((req, res) => {
  const routes = {
    '/radio': () => send(res, song, rateOf(song, 179.5, 1), Infinity),
    '/flood': () => send(res, song, Infinity, Infinity),
    '/file': () => send(res, song, Infinity, 1),
    '/file-4x': () => send(res, short, rateOf(short, 14.2, 4), 1),
  };
  routes[req.url]();
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${server.address().port}`;
const results = {};
await Promise.all(['/radio', '/flood', '/file', '/file-4x'].map(async (path) => {
  const started = performance.now();
  let audioS;
  try {
    const blob = await fetchAudio(base + path, {
      signal: new AbortController().signal, maxDurationS: 600, liveWindowS: 2,
      onBytes: (_done, _total, seconds) => { audioS = seconds; },
    });
    results[path] = { done: blob.size, audioS };
  } catch (error) {
    results[path] = { failed: error.message, audioS };
  }
  results[path].tookS = (performance.now() - started) / 1000;
}));
server.closeAllConnections();
server.close();
console.log(JSON.stringify(results));
"""


@pytest.fixture(scope="module")
def streams(tmp_path_factory, wesnoth_track):
    staged = staged_script(tmp_path_factory.mktemp("stage"), STREAMS)
    song, short = wesnoth_track("loyalists.ogg"), wesnoth_track("defeat2.ogg")
    done = subprocess.run(
        [*NODE, "check.mjs", str(song), str(short)], cwd=staged, check=True, capture_output=True, text=True, timeout=60
    )
    return json.loads(done.stdout.strip().splitlines()[-1]), song.stat().st_size, short.stat().st_size


def test_audio_arriving_as_fast_as_it_plays_is_a_live_stream(streams):
    radio = streams[0]["/radio"]
    assert radio["failed"].startswith("This is a live stream"), radio
    assert "Demix this tab (live)" in radio["failed"], radio  # the Chrome build's advice
    assert 2 <= radio["tookS"] < 4 and 1.5 < radio["audioS"] < 4, radio


def test_a_length_less_flood_ends_at_the_duration_limit(streams):
    flood = streams[0]["/flood"]
    assert "more than 10 minutes of audio" in flood["failed"], flood
    assert "Demix this tab (live)" in flood["failed"], flood
    assert 600 <= flood["audioS"] < 620, flood


def test_a_length_less_file_fast_or_at_four_times_its_rate_is_no_stream(streams):
    results, song_bytes, short_bytes = streams
    assert results["/file"]["done"] == song_bytes and abs(results["/file"]["audioS"] - 179.5) < 0.1, results
    slow = results["/file-4x"]
    assert slow["done"] == short_bytes and slow["tookS"] > 3, slow  # longer than the window
