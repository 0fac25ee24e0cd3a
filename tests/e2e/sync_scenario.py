"""What the sync-mode test (and a bench) does in either browser: grant the video site, turn
"Karaoke in sync" on the way the popup's button does, play with a real click, record what is
heard, and read back what the extension decoded (its media timeline, in the inference host) so
the offline pipeline can be run on the very same samples.

Neither browser can answer the permission prompt of ``permissions.request`` headless, so the
grant is made the way each stores the user's "Allow": Chromium's is written into the profile
between two starts of the browser (``grant_origins``; the extension's settings in
``Preferences`` are not MAC-protected), Firefox's through its own ExtensionPermissions from the
chrome context (``FirefoxSession.grant_origins``, as the prompt's Allow calls it).

The inference host is Chromium's offscreen document (reached through the DevTools protocol) and
Firefox's background page (reached from an extension page with ``runtime.getBackgroundPage``).
In Firefox the site's tab stays the selected one: a tab in the background has its timers
throttled to 1 s (the page's player and the relay's clock), so the panel is driven unselected.
"""

from __future__ import annotations

import base64
import json
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import websocket
from selenium.webdriver.common.by import By

from builder.package import CHROME_ID
from tests.e2e.chromium import ChromiumSession
from tests.e2e.firefox import FirefoxSession
from tests.e2e.heard import AudioServer, Recording
from tests.protocol import to_background

RATE = 44100
Session = ChromiumSession | FirefoxSession


def start_browser(browser: str, dist: Path, workdir: Path, site: str) -> Session:
    """The packaged extension in ``browser`` ('chromium' or 'firefox'), the pattern its popup asks
    for ``site`` (a base URL) granted: Chromium's names the port, Firefox's cannot
    (platform/<browser>/site-pattern.js)."""
    if browser == "chromium":
        return grant_origins(dist / "chrome", workdir, [f"{site}/*"])
    session = FirefoxSession.start(next(dist.glob("*-firefox.xpi")), workdir)
    parts = urllib.parse.urlsplit(site)
    session.grant_origins(f"{parts.scheme}://{parts.hostname}/*")
    return session


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


def _to_page(session: Session, tabs: Tabs) -> None:
    if isinstance(session, FirefoxSession):
        session.marionette.switch_to_window(tabs.page)  # selected: it plays in the foreground
    else:
        session.driver.switch_to.window(tabs.page)


def _to_panel(session: Session, tabs: Tabs) -> None:
    if isinstance(session, FirefoxSession):
        session.marionette.switch_to_window(tabs.panel, focus=False)  # the site's tab stays selected
    else:
        session.driver.switch_to.window(tabs.panel)


def open_site_and_panel(session: Session, page_url: str) -> Tabs:
    if isinstance(session, FirefoxSession):
        session.open_url(page_url)  # a new tab each
        page = session.marionette.current_window_handle
        session.open("popup/popup.html")
        panel = session.marionette.current_window_handle
    else:
        session.open_url(page_url)
        page = session.driver.current_window_handle
        session.driver.switch_to.new_window("tab")
        session.open("popup/popup.html")
        panel = session.driver.current_window_handle
    tab_id = session.call(
        "const own = await ext.tabs.getCurrent();"
        "return (await ext.tabs.query({})).find((t) => t.id !== own.id && t.url?.startsWith(args[0])).id;",
        page_url.split("?")[0],
    )
    tabs = Tabs(page, panel, tab_id)
    _to_page(session, tabs)
    return tabs


def page_script(session: Session, tabs: Tabs, source: str):
    """``source`` (a function body) run in the site's page with ``w`` = its window (Firefox's
    content scripts of Marionette see the page's own objects through ``wrappedJSObject``)."""
    _to_page(session, tabs)
    w = "window.wrappedJSObject" if isinstance(session, FirefoxSession) else "window"
    return session.script(f"const w = {w}; {source}")


def mark_page(session: Session, tabs: Tabs) -> None:
    """Mark the page as it is now: gone once the tab has reloaded (``reloaded_state``)."""
    page_script(session, tabs, "w.beforeSync = true;")


def start_sync(session: ChromiumSession, tabs: Tabs, page_url: str) -> None:
    """What the popup's button sends once the site is granted (ui/sync-view.js)."""
    _to_panel(session, tabs)
    reply = session.call(f"return await {to_background('START_SYNC', '{tabId: args[0], url: args[1]}')};",
                         tabs.tab_id, page_url)  # fmt: skip
    assert reply["ok"], reply


def turn_on(session: Session, tabs: Tabs, page_url: str, appends: int = 4) -> None:
    """Turn sync on for the site as the popup does, then wait until the page has reloaded and
    its player made ``appends`` appends to its MediaSource."""
    mark_page(session, tabs)
    start_sync(session, tabs, page_url)
    deadline = time.monotonic() + 60
    while not ((state := reloaded_state(session, tabs)) and state["appends"] >= appends):
        assert time.monotonic() < deadline, "the tab did not reload and append"
        time.sleep(0.3)


def record_and_play(session: Session, tabs: Tabs, heard: AudioServer, path: Path) -> tuple[Recording, float]:
    """Start recording what is heard, its clock calibrated (what the offsets need), then click
    the site's Play; the recording and ``time.monotonic()`` just after the click."""
    recording = heard.record(path)
    recording.calibrate()
    time.sleep(0.2)
    click_play(session, tabs)
    return recording, time.monotonic()


def sync_state(session: Session, tabs: Tabs) -> dict | None:
    _to_panel(session, tabs)
    state = session.call("return (await ext.storage.session.get('sync')).sync ?? {};")
    return state.get(str(tabs.tab_id))


def set_muted(session: Session, tabs: Tabs, muted: bool) -> None:
    _to_panel(session, tabs)
    session.call("await ext.tabs.update(args[0], {muted: args[1]});", tabs.tab_id, muted)


def click_play(session: Session, tabs: Tabs) -> None:
    """The user's click on the site's Play button (a real gesture: no autoplay flag needed)."""
    _to_page(session, tabs)
    if isinstance(session, FirefoxSession):
        from marionette_driver.by import By as MarionetteBy

        session.marionette.find_element(MarionetteBy.ID, "play").click()
    else:
        session.driver.find_element(By.ID, "play").click()


def reloaded_state(session: Session, tabs: Tabs) -> dict | None:
    """The player's state once the page is not the one marked by ``mark_page``."""
    return page_script(
        session, tabs,
        "try { return !w.beforeSync && w.player && JSON.parse(JSON.stringify(w.player.state())); }"
        " catch { return null; }",
    )  # fmt: skip


def player_state(session: Session, tabs: Tabs) -> dict | None:
    # (null while the page reloads: its old MediaSource is detached then)
    return page_script(
        session, tabs, "try { return w.player && JSON.parse(JSON.stringify(w.player.state())); } catch { return null; }"
    )


# A function body in the inference host: `sync` its sync host, `G` its global, `args` the call's.
# The samples leave planar (channel 0 then 1) through a Blob: no element-by-element copy, which
# in Firefox would cross from the panel's script into the background page's compartment.
_READ_TIMELINE = """
  const s = sync.session(args[0]);
  if (!s) return null;
  const out = [new G.Float32Array(args[3]), new G.Float32Array(args[3])];
  s[args[1]].read(args[2], out);
  const url = await new Promise((ok, ko) => {
    const reader = new FileReader();
    reader.onload = () => ok(reader.result);
    reader.onerror = ko;
    reader.readAsDataURL(new Blob(out));
  });
  return url.slice(url.indexOf(',') + 1);
"""


def host_call(session: Session, tabs: Tabs, body: str, *args):
    """``body`` (an async function body) run in the inference host with ``sync`` = its sync host
    (``globalThis.demixerSync``), ``G`` = its global and ``args``; its JSON-able result."""
    if isinstance(session, FirefoxSession):
        _to_panel(session, tabs)
        return session.call(
            "const page = await ext.runtime.getBackgroundPage();"
            "const G = page.wrappedJSObject ?? page; const sync = G.demixerSync;"
            f"const result = await (async () => {{ {body} }})();"
            "return result === undefined ? null : JSON.parse(JSON.stringify(result));",
            *args,
        )
    expression = (
        f"(async (sync, G, args) => {{ {body} }})(globalThis.demixerSync, globalThis, {json.dumps(list(args))})"
    )
    return evaluate_in_offscreen(session, expression)


def read_timeline(session: Session, tabs: Tabs, which: str, start: int, length: int) -> np.ndarray:
    """Samples [start, start + length) of the host's ``original`` or ``stems`` timeline of the tab,
    (frames, 2) float32, read a piece at a time."""
    pieces = []
    step = RATE * 5
    for at in range(start, start + length, step):
        n = min(step, start + length - at)
        text = host_call(session, tabs, _READ_TIMELINE, tabs.tab_id, which, at, n)
        assert text is not None, "no sync session for the tab"
        pieces.append(np.frombuffer(base64.b64decode(text), np.float32).reshape(2, -1).T)
    return np.concatenate(pieces)


def host_health(session: Session, tabs: Tabs) -> dict | None:
    return host_call(session, tabs, "const s = sync.session(args[0]); return s && s.health();", tabs.tab_id)
