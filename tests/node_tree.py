"""The extension's modules under Node, as the build lays them out: the source with
platform/chrome/ swapped in, and a stand-in `chrome.i18n` that answers from _locales/en, so a
module that imports shared/i18n.js loads and says its English text. Run scripts with
``[*NODE, ...]`` in ``cwd=node_tree()``; modules are under ``./extension/``."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

NODE = ["node", "--import", "./i18n-stub.mjs"]

# Chrome's getMessage: $1…$9 from the substitutions, "" for an unknown key.
I18N_STUB = """
import { readFileSync } from 'node:fs';
const url = new URL('./extension/_locales/en/messages.json', import.meta.url);
const messages = JSON.parse(readFileSync(url, 'utf8'));
const getMessage = (key, subs = []) =>
  (messages[key]?.message ?? '').replace(/\\$(\\d)/g, (_, n) => String([subs].flat()[n - 1] ?? ''));
globalThis.chrome = { ...globalThis.chrome, i18n: { getMessage, getUILanguage: () => 'en' } };
"""


@cache
def node_tree() -> Path:
    root = Path(tempfile.mkdtemp(prefix="demixer-node-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    extension = ROOT / "extension"
    shutil.copytree(extension, root / "extension", ignore=shutil.ignore_patterns("platform", "*.j2"))
    shutil.copytree(extension / "platform" / "chrome", root / "extension" / "platform")
    (root / "i18n-stub.mjs").write_text(I18N_STUB)
    return root


def staged_script(path: Path, script: str) -> Path:
    """The Chrome build staged at ``path`` (``builder.package.stage``: the modules at the top,
    vendor/ filled) with ``script`` beside them as ``check.mjs``, for ``node check.mjs`` there
    (``[*NODE, "check.mjs"]`` where it imports shared/i18n.js: the stub is staged beside it too)."""
    from builder.package import stage

    stage("chrome", path)
    (path / "check.mjs").write_text(script)
    (path / "i18n-stub.mjs").write_text(I18N_STUB.replace("./extension/_locales", "./_locales"))
    return path
