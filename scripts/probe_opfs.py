"""Probe: saving a 60-minute stem as one IndexedDB Blob vs as an origin-private file (a probe).

    .venv/bin/python scripts/probe_opfs.py [--browsers firefox chromium] [--parts 150] [--part-mb 4.23]

In an extension page of the packaged extension (dist/), the stem's parts are stored as
separator.js stores them (IndexedDB `chunks`, one put each), then saved two ways:
- `joined`: what finishStem did (getAll, `new Blob([header, ...parts])`, one put in `stems`);
- `opfs`: one file of the origin-private file system, `createWritable()`, the header then each
  part read one at a time from IndexedDB and written, `close()`;
then each saved stem gets an object URL played by an <audio> element (the job list's players).
PSS of the browser's processes is sampled every 0.3 s; per phase the biggest PSS of the
browser's parent (Firefox parent / Chromium browser process) and of the whole tree is printed.
A probe (scripts/README.md); its finding is why platform/firefox/stem-storage.js writes a file.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.bench import Sampling, _pss_by_pid, _tree_pids, start_browser  # noqa: E402
from tests.protocol import STORE, open_db_js  # noqa: E402

FILL = f"""
{open_db_js()}
const [count, size] = args;
const name = {json.dumps(STORE["CHUNKS"])};
for (let i = 0; i < count; i++) {{
  const bytes = new Uint8Array(size);
  for (let j = 0; j < size; j += 4096) bytes[j] = (i + j) & 255;
  const tx = db.transaction(name, 'readwrite');
  tx.objectStore(name).put(new Blob([bytes]), ['probe', 'vocals', i]);
  await new Promise((ok, ko) => {{ tx.oncomplete = ok; tx.onerror = ko; }});
}}
return count;
"""

HEADER_JS = """
const header = (bytes) => { const b = new ArrayBuffer(44); const v = new DataView(b);
  const s = (o, t) => [...t].forEach((c, k) => v.setUint8(o + k, c.charCodeAt(0)));
  s(0, 'RIFF'); v.setUint32(4, 36 + bytes, true); s(8, 'WAVE'); s(12, 'fmt '); v.setUint32(16, 16, true);
  v.setUint16(20, 1, true); v.setUint16(22, 2, true); v.setUint32(24, 44100, true);
  v.setUint32(28, 176400, true); v.setUint16(32, 4, true); v.setUint16(34, 16, true); s(36, 'data');
  v.setUint32(40, bytes, true); return new Blob([b]); };
"""

JOINED = f"""
{open_db_js()}
{HEADER_JS}
const [count, size] = args;
const started = performance.now();
const parts = await new Promise((ok, ko) => {{
  const r = db.transaction({json.dumps(STORE["CHUNKS"])}).objectStore({json.dumps(STORE["CHUNKS"])})
    .getAll(IDBKeyRange.bound(['probe', 'vocals', 0], ['probe', 'vocals', Infinity]));
  r.onsuccess = () => ok(r.result); r.onerror = ko; }});
const wav = new Blob([header(count * size), ...parts], {{type: 'audio/wav'}});
const tx = db.transaction({json.dumps(STORE["STEMS"])}, 'readwrite');
tx.objectStore({json.dumps(STORE["STEMS"])}).put(wav, ['probe', 'vocals']);
await new Promise((ok, ko) => {{ tx.oncomplete = ok; tx.onerror = ko; }});
return {{seconds: (performance.now() - started) / 1000, size: wav.size}};
"""

# args[2]: 'blob' (write each part as the Blob it is) or 'buffer' (its bytes, read first).
OPFS = f"""
{open_db_js()}
{HEADER_JS}
const [count, size, how] = args;
const started = performance.now();
const root = await navigator.storage.getDirectory();
const handle = await root.getFileHandle('probe-vocals.wav', {{create: true}});
const out = await handle.createWritable();
await out.write(header(count * size));
const name = {json.dumps(STORE["CHUNKS"])};
let reading = 0, writing = 0;
for (let i = 0; i < count; i++) {{
  const t0 = performance.now();
  const part = await new Promise((ok, ko) => {{
    const r = db.transaction(name).objectStore(name).get(['probe', 'vocals', i]);
    r.onsuccess = () => ok(r.result); r.onerror = ko; }});
  const t1 = performance.now();
  await out.write(how === 'buffer' ? await part.arrayBuffer() : part);
  reading += t1 - t0; writing += performance.now() - t1;
}}
const t2 = performance.now();
await out.close();
const closing = (performance.now() - t2) / 1000;
const file = await handle.getFile();
return {{seconds: (performance.now() - started) / 1000, reading: reading / 1000, writing: writing / 1000,
  closing, size: file.size, type: file.type,
  ctor: file.constructor.name}};
"""

# args[0]: 'joined' (the IndexedDB record) or 'opfs' (the file): an object URL played 3 s.
PLAY = f"""
{open_db_js()}
let blob;
if (args[0] === 'opfs') {{
  const root = await navigator.storage.getDirectory();
  blob = await (await root.getFileHandle('probe-vocals.wav')).getFile();
}} else {{
  blob = await new Promise((ok, ko) => {{
    const r = db.transaction({json.dumps(STORE["STEMS"])}).objectStore({json.dumps(STORE["STEMS"])})
      .get(['probe', 'vocals']);
    r.onsuccess = () => ok(r.result); r.onerror = ko; }});
}}
const url = URL.createObjectURL(blob);
const audio = new Audio(url);
audio.muted = true;
document.body.append(audio);
await new Promise((ok, ko) => {{ audio.onloadedmetadata = ok; audio.onerror = () => ko(audio.error?.message); }});
await audio.play().catch(() => {{}});
await new Promise((ok) => setTimeout(ok, 3000));
audio.currentTime = audio.duration - 5;
await new Promise((ok) => setTimeout(ok, 2000));
window.probeKept = [...(window.probeKept ?? []), audio];
return {{duration: audio.duration, time: audio.currentTime}};
"""

AVAILABLE = """
const where = {};
try { await navigator.storage.getDirectory(); where.page = 'getDirectory'; } catch (e) { where.page = String(e); }
where.createWritable = 'createWritable' in (globalThis.FileSystemFileHandle?.prototype ?? {});
try {
  const bg = await ext.runtime.getBackgroundPage();
  await bg.navigator.storage.getDirectory();
  where.background = 'getDirectory';
  where.backgroundWritable = 'createWritable' in bg.FileSystemFileHandle.prototype;
} catch (e) { where.background = String(e); }
return where;
"""


class Sampler(Sampling):
    """PSS of the parent and of the tree, every 0.3 s, the maximum kept per phase."""

    def __init__(self, root: int, kind: str) -> None:
        super().__init__()
        self.root, self.kind, self.phase, self.peaks = root, kind, "start", {}

    def _parent(self, pids: list[int]) -> int:
        for pid in pids:
            try:
                args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            name = Path(args[0].decode(errors="replace")).name
            child = b"-contentproc" in args or any(a.startswith(b"--type=") for a in args)
            if not child and (name.startswith("firefox") or ("chrom" in name and "driver" not in name)):
                return pid
        return self.root

    def _run(self) -> None:
        while not self._stop.is_set():
            pids = _tree_pids(self.root)
            by_pid = _pss_by_pid(pids)
            parent = by_pid.get(self._parent(pids), 0.0)
            peak = self.peaks.setdefault(self.phase, {"parent_min": parent, "parent_max": 0.0, "tree_max": 0.0})
            peak["parent_min"] = min(peak["parent_min"], parent)
            peak["parent_max"] = max(peak["parent_max"], parent)
            peak["tree_max"] = max(peak["tree_max"], sum(by_pid.values()))
            time.sleep(0.3)


def probe(kind: str, dist: Path, workdir: Path, count: int, size: int) -> dict:
    session, pid = start_browser(kind, dist, workdir)
    try:
        session.open("page/page.html")
        result = {"browser": kind, "available": session.call(AVAILABLE)}
        with Sampler(pid, kind) as sampler:
            for phase, script, args in [
                ("fill", FILL, (count, size)),
                ("rest_1", "await new Promise((ok) => setTimeout(ok, 4000));", ()),
                ("joined_save", JOINED, (count, size)),
                ("rest_2", "await new Promise((ok) => setTimeout(ok, 4000));", ()),
                ("opfs_save", OPFS, (count, size, "blob")),
                ("opfs_save_buffers", OPFS, (count, size, "buffer")),
                ("rest_3", "await new Promise((ok) => setTimeout(ok, 4000));", ()),
                ("opfs_play", PLAY, ("opfs",)),
                ("rest_4", "await new Promise((ok) => setTimeout(ok, 4000));", ()),
                ("joined_play", PLAY, ("joined",)),
                ("rest_5", "await new Promise((ok) => setTimeout(ok, 4000));", ()),
            ]:
                sampler.phase = phase
                result[phase] = session.call(script, *args)
                time.sleep(0.7)
        result["pss_mb"] = {k: {n: round(v) for n, v in p.items()} for k, p in sampler.peaks.items()}
        return result
    finally:
        session.quit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--browsers", nargs="+", default=["firefox", "chromium"])
    parser.add_argument("--parts", type=int, default=150)
    parser.add_argument("--part-mb", type=float, default=4.23)
    args = parser.parse_args()
    size = int(args.part_mb * 2**20) // 4 * 4
    for kind in args.browsers:
        with tempfile.TemporaryDirectory() as tmp:
            print(json.dumps(probe(kind, ROOT / "dist", Path(tmp), args.parts, size), indent=1), flush=True)


if __name__ == "__main__":
    main()
