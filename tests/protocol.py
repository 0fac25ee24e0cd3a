"""The extension's message names and IndexedDB schema, read once from its own code under Node
(``extension/shared/messages.js``, ``extension/shared/store.js``), so tests never retype them."""

from __future__ import annotations

import json
import subprocess

from tests.node_tree import NODE, node_tree

_SCRIPT = (
    "Promise.all([import('./extension/shared/messages.js'), import('./extension/shared/store.js')])"
    ".then(([m, s]) => console.log(JSON.stringify({MSG: m.MSG, TARGET: m.TARGET, DB_NAME: s.DB_NAME,"
    " STORE: s.STORE})))"
)
_NAMES = json.loads(subprocess.run([*NODE, "-e", _SCRIPT], cwd=node_tree(), capture_output=True, text=True,
                                   check=True, timeout=60).stdout)  # fmt: skip
MSG: dict[str, str] = _NAMES["MSG"]  # e.g. MSG["START_URL_JOB"]
TARGET: dict[str, str] = _NAMES["TARGET"]
DB_NAME: str = _NAMES["DB_NAME"]
STORE: dict[str, str] = _NAMES["STORE"]  # INPUTS, CHUNKS, STEMS -> object store names


def to_background(kind: str, data_js: str) -> str:
    """JS that sends message ``MSG[kind]`` with the data expression ``data_js`` to the background
    and evaluates to its reply."""
    target, message = json.dumps(TARGET["BACKGROUND"]), json.dumps(MSG[kind])
    return f"ext.runtime.sendMessage({{target: {target}, type: {message}, data: {data_js}}})"


def open_db_js() -> str:
    """JS that binds ``db`` to the extension's open IndexedDB database."""
    return (f"const db = await new Promise((ok, ko) => {{ const r = indexedDB.open({json.dumps(DB_NAME)});"
            " r.onsuccess = () => ok(r.result); r.onerror = ko; });")  # fmt: skip
