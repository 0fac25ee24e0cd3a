"""What the live test and the live bench (scripts/bench_live.py) ask of the extension's page:
start a capture the way the popup's button does, read the live state, read a stored record.
Message names and the IndexedDB schema come from the extension's code (tests/protocol.py)."""

from __future__ import annotations

import base64
import json

from tests.protocol import STORE, open_db_js, to_background

# What the popup's button does (ui/live-view.js), with the other tab (the music) as the target;
# args[0]: keep what is played too (recordOutput).
START_LIVE = f"""
const tabs = await ext.tabs.query({{}});
const own = await ext.tabs.getCurrent();
const target = tabs.find((t) => t.id !== own.id);
const streamId = await ext.tabCapture.getMediaStreamId({{targetTabId: target.id}});
const reply = await {to_background("START_LIVE", "{tabId: target.id, streamId, recordOutput: args[0]}")};
if (!reply.ok) throw new Error(reply.error);
return reply.result;
"""
# The background keeps the capture's state in storage.session `live` (background.js LIVE_KEY).
LIVE_STATE = "return (await ext.storage.session.get('live')).live ?? null;"
_STEMS = json.dumps(STORE["STEMS"])
# Bytes [args[2], args[3]) of the stem record [args[0], args[1]], base64; null if there is none.
_READ_STEM = (
    open_db_js()
    + f"""
const blob = await new Promise((ok, ko) => {{
  const r = db.transaction({_STEMS}).objectStore({_STEMS}).get([args[0], args[1]]);
  r.onsuccess = () => ok(r.result); r.onerror = ko; }});
if (!blob) return null;
const bytes = new Uint8Array(await blob.slice(args[2] ?? 0, args[3] ?? blob.size).arrayBuffer());
let text = '';
for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
return btoa(text);
"""
)


def read_stem_bytes(session, job_id: str, key: str, end: int | None = None) -> bytes | None:
    """The stem record ``key`` of ``job_id`` (its first ``end`` bytes: a 10-minute recording is
    too big to move whole), or None if it is not stored."""
    data = session.call(_READ_STEM, job_id, key, 0, end)
    return None if data is None else base64.b64decode(data)


# What the page plays: MediaSource fed the whole WebM/Opus clip, so the element's src is blob:.
MUSIC_PAGE = """<!doctype html><title>Live music</title><audio controls></audio>
<script>
const audio = document.querySelector('audio');
audio.loop = true; // a slow start must not outlast the 40-s clip: its end is a pause (silence)
const source = new MediaSource();
audio.src = URL.createObjectURL(source);
source.addEventListener('sourceopen', async () => {
  const buffer = source.addSourceBuffer('audio/webm; codecs="opus"');
  buffer.appendBuffer(await (await fetch('clip.webm')).arrayBuffer());
  buffer.addEventListener('updateend', () => { source.endOfStream(); audio.play(); }, {once: true});
});
</script>"""
