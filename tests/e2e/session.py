"""What the scenarios need from a browser, written once over two drivers' primitives."""

from __future__ import annotations

import time
from pathlib import Path


def async_call_script(script: str, api: str) -> str:
    """JS for an async WebDriver/Marionette script: runs ``script`` as an async function body
    with ``ext`` = ``api`` and ``args`` = the call's arguments; answers {ok, v} or {ok, e}."""
    return (
        "const done = arguments[arguments.length - 1];"
        f"const ext = {api};"
        f"(async (...args) => {{ {script} }})(...Array.from(arguments).slice(0, -1))"
        ".then((v) => done({ok: true, v: v === undefined ? null : JSON.parse(JSON.stringify(v))}),"
        " (e) => done({ok: false, e: String(e)}));"
    )


def unwrap(result: dict):
    if not result["ok"]:
        raise RuntimeError(result["e"])
    return result["v"]


class Session:
    """Mixin: subclasses provide ``call(script, *args)`` (async body, ``ext`` = the page's
    extension API), ``script(source, *args)`` (sync, in the current page), ``open(path)``,
    ``open_url(url)``, ``pick_file(path)``, ``quit()`` and a ``downloads`` folder."""

    downloads: Path
    name: str

    def jobs(self) -> list[dict]:
        return self.call("return (await ext.storage.local.get('jobs')).jobs ?? [];")

    def click_all(self, selector: str) -> int:
        return self.script(
            "const b = [...document.querySelectorAll(arguments[0])];b.forEach((x) => x.click()); return b.length;",
            selector,
        )

    def wait_downloads(self, names: list[str], timeout: float = 60) -> list[Path]:
        paths = [self.downloads / n for n in names]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            unfinished = [*self.downloads.glob("*.crdownload"), *self.downloads.glob("*.part")]
            if all(p.is_file() and p.stat().st_size > 0 for p in paths) and not unfinished:
                time.sleep(0.2)
                return paths
            time.sleep(0.25)
        raise TimeoutError(f"downloads missing: {[p.name for p in paths if not p.is_file()]}")
