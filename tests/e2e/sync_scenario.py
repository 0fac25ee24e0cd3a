"""What the sync-mode test (and a bench) does in Chromium: grant the video site, turn "Karaoke in
sync" on the way the popup's button does, play with a real click, record what is heard, and read
back what the extension decoded (its media timeline, through the DevTools protocol) so the
offline pipeline can be run on the very same samples.

Chromium cannot answer the permission prompt of ``permissions.request`` headless, so the grant is
written into the profile between two starts of the browser (``grant_origins``): what the
user's "Allow" stores (the extension's settings in ``Preferences`` are not MAC-protected).
"""

from __future__ import annotations

import base64
import json
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import websocket
from selenium.webdriver.common.by import By

from builder.package import CHROME_ID
from tests.e2e.chromium import ChromiumSession
from tests.protocol import to_background

RATE = 44100


def grant_origins(extension: Path, workdir: Path, origins: list[str], extra_args=()) -> ChromiumSession:
    """A Chromium with the extension whose profile holds a grant of ``origins`` (optional host
    permissions), as the prompt's "Allow" leaves it."""
    first = ChromiumSession.start(extension, workdir, extra_args)
    first.open("popup/popup.html")
    time.sleep(1)  # the profile's Preferences are written with the extension's settings
    first.quit()
    prefs_path = workdir / "profile" / "Default" / "Preferences"
    prefs = json.loads(prefs_path.read_text())
    settings = prefs["extensions"]["settings"][CHROME_ID]
    for key in ("granted_permissions", "active_permissions"):
        for kind in ("explicit_host", "scriptable_host"):
            settings[key][kind] = sorted({*settings[key].get(kind, []), *origins})
    prefs_path.write_text(json.dumps(prefs))
    return ChromiumSession.start(extension, workdir, extra_args)


def evaluate_in_offscreen(session: ChromiumSession, expression: str, timeout: float = 60):
    """Runtime.evaluate (awaited, by value) in the extension's offscreen document."""
    address = session.driver.capabilities["goog:chromeOptions"]["debuggerAddress"]
    with urllib.request.urlopen(f"http://{address}/json/list", timeout=10) as reply:
        targets = json.load(reply)
    url = f"chrome-extension://{CHROME_ID}/"
    target = next((t for t in targets if t["url"].startswith(url) and "offscreen" in t["url"]), None)
    assert target, [(t["type"], t["url"]) for t in targets]
    connection = websocket.create_connection(target["webSocketDebuggerUrl"], timeout=timeout, suppress_origin=True)
    try:
        params = {"expression": expression, "awaitPromise": True, "returnByValue": True}
        connection.send(json.dumps({"id": 1, "method": "Runtime.evaluate", "params": params}))
        while (answer := json.loads(connection.recv())).get("id") != 1:
            pass
    finally:
        connection.close()
    result = answer["result"]
    if "exceptionDetails" in result:
        raise RuntimeError(result["exceptionDetails"])
    return result["result"].get("value")


@dataclass
class Tabs:
    page: str  # the video site's window handle
    panel: str  # an extension page (the popup's, opened as a tab): the test's hands
    tab_id: int  # the video site's tab


def open_site_and_panel(session: ChromiumSession, page_url: str) -> Tabs:
    session.open_url(page_url)
    page = session.driver.current_window_handle
    session.driver.switch_to.new_window("tab")
    session.open("popup/popup.html")
    panel = session.driver.current_window_handle
    tab_id = session.call(
        "const own = await ext.tabs.getCurrent();"
        "return (await ext.tabs.query({})).find((t) => t.id !== own.id && t.url.startsWith(args[0])).id;",
        page_url.split("?")[0],
    )
    return Tabs(page, panel, tab_id)


def start_sync(session: ChromiumSession, tabs: Tabs, page_url: str) -> None:
    """What the popup's button sends once the site is granted (ui/sync-view.js)."""
    session.driver.switch_to.window(tabs.panel)
    reply = session.call(f"return await {to_background('START_SYNC', '{tabId: args[0], url: args[1]}')};",
                         tabs.tab_id, page_url)  # fmt: skip
    assert reply["ok"], reply


def sync_state(session: ChromiumSession, tabs: Tabs) -> dict | None:
    session.driver.switch_to.window(tabs.panel)
    state = session.call("return (await ext.storage.session.get('sync')).sync ?? {};")
    return state.get(str(tabs.tab_id))


def set_muted(session: ChromiumSession, tabs: Tabs, muted: bool) -> None:
    session.driver.switch_to.window(tabs.panel)
    session.call("await ext.tabs.update(args[0], {muted: args[1]});", tabs.tab_id, muted)


def click_play(session: ChromiumSession, tabs: Tabs) -> None:
    """The user's click on the site's Play button (a real gesture: no autoplay flag needed)."""
    session.driver.switch_to.window(tabs.page)
    session.driver.find_element(By.ID, "play").click()


def reloaded_state(session: ChromiumSession, tabs: Tabs) -> dict | None:
    """The player's state once the page is not the one marked ``window.beforeSync``."""
    session.driver.switch_to.window(tabs.page)
    return session.script(
        "try { return !window.beforeSync && window.player && window.player.state(); } catch { return null; }"
    )


def player_state(session: ChromiumSession, tabs: Tabs) -> dict | None:
    session.driver.switch_to.window(tabs.page)
    # (null while the page reloads: its old MediaSource is detached then)
    return session.script("try { return window.player && window.player.state(); } catch { return null; }")


_READ_TIMELINE = """(async () => {
  const s = globalThis.demixerSync.session(%d);
  if (!s) return null;
  const t = s.%s, start = %d, length = %d;
  const out = [new Float32Array(length), new Float32Array(length)];
  t.read(start, out);
  const both = new Float32Array(length * 2);
  for (let i = 0; i < length; i++) { both[2 * i] = out[0][i]; both[2 * i + 1] = out[1][i]; }
  const bytes = new Uint8Array(both.buffer);
  let text = '';
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
})()"""


def read_timeline(session: ChromiumSession, tab_id: int, which: str, start: int, length: int) -> np.ndarray:
    """Samples [start, start + length) of the host's ``original`` or ``stems`` timeline of the tab,
    (frames, 2) float32, read a piece at a time."""
    pieces = []
    step = RATE * 5
    for at in range(start, start + length, step):
        n = min(step, start + length - at)
        text = evaluate_in_offscreen(session, _READ_TIMELINE % (tab_id, which, at, n))
        assert text is not None, "no sync session for the tab"
        pieces.append(np.frombuffer(base64.b64decode(text), np.float32).reshape(-1, 2))
    return np.concatenate(pieces)


def host_health(session: ChromiumSession, tab_id: int) -> dict | None:
    return evaluate_in_offscreen(
        session, f"(async () => {{ const s = globalThis.demixerSync.session({tab_id}); return s && s.health(); }})()"
    )
