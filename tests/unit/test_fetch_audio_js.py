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
