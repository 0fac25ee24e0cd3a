"""Firefox, issue #14: a media element playing a `blob:` MediaSource stream (what video and radio
sites play) is recorded in the page while it plays, and the recording becomes an ordinary job.

The context menu is the real one: Marionette right-clicks the element in the page (a trusted
`contextmenu`, so Firefox builds its menu for that element), then activates the extension's
item in Firefox's own menu from the chrome context, which grants activeTab as a person's click
does; the permission prompt of the cross-origin case is answered "Deny" the same way. What
differs from a person: the synthesised pointer, and the menu item activated by script.

Headless Firefox with no audio device logs NS_ERROR_DOM_MEDIA_MEDIASINK_ERR at play() (a
captured element was still recorded in two runs here, but that is not what users have), so a
PulseAudio daemon with a null sink is started for these tests, as a desktop has an audio device.
"""

from __future__ import annotations

import base64
import functools
import http.server
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest
import soundfile as sf

from builder.validate import sdr_db
from models.spec import Precision
from tests.conftest import WESNOTH_MUSIC as WESNOTH
from tests.e2e.conftest import stored_counts, wait_for
from tests.e2e.heard import audio_server
from tests.e2e.servers import serve_directory

pytestmark = [pytest.mark.browser, pytest.mark.slow]
STEMS = ("vocals", "accompaniment")
INT8_FLOOR_DB = 30.0  # as the other browser-vs-native parity tests
PREFS = {"media.autoplay.default": 0}  # the test page plays without a gesture

# A streaming player as video and radio sites have: MediaSource, so the element's src is blob:.
PLAYER = """<!doctype html><title>Player</title>
<audio controls></audio>
<script>
  const audio = document.querySelector('audio');
  const source = new MediaSource();
  audio.src = URL.createObjectURL(source);
  window.ready = new Promise((resolve, reject) => {
    source.addEventListener('sourceopen', async () => {
      const buffer = source.addSourceBuffer('audio/webm; codecs="opus"');
      buffer.addEventListener('updateend', () => { source.endOfStream(); resolve(audio.src); }, { once: true });
      buffer.addEventListener('error', reject, { once: true });
      buffer.appendBuffer(await (await fetch('song.webm')).arrayBuffer());
    }, { once: true });
  });
  // As a DRM site does (Encrypted Media Extensions; Clear Key is built into Firefox).
  window.protect = async () => {
    const access = await navigator.requestMediaKeySystemAccess('org.w3.clearkey', [{
      initDataTypes: ['webm'], audioCapabilities: [{ contentType: 'audio/webm; codecs="opus"' }] }]);
    await audio.setMediaKeys(await access.createMediaKeys());
  };
</script>
"""

# The input of a job, read from IndexedDB as soon as it is stored (the host deletes it when the
# job ends, many seconds later): base64 of its bytes.
READ_INPUT = """
const db = await new Promise((ok, ko) => {
  const r = indexedDB.open('demixer'); r.onsuccess = () => ok(r.result); r.onerror = ko; });
const until = Date.now() + 60000;
while (Date.now() < until) {
  const blob = await new Promise((ok) => {
    const r = db.transaction('inputs').objectStore('inputs').get(args[0]); r.onsuccess = () => ok(r.result); });
  if (blob) {
    const url = await new Promise((ok, ko) => {
      const reader = new FileReader(); reader.onload = () => ok(reader.result); reader.onerror = ko;
      reader.readAsDataURL(blob); });
    return {type: blob.type, data: url.slice(url.indexOf(',') + 1)};
  }
  await new Promise((ok) => setTimeout(ok, 20));
}
throw new Error('the recording never became the job input');
"""


@pytest.fixture(scope="module")
def audio_device(tmp_path_factory):
    """A PulseAudio daemon with a null sink, for the Firefox started after it (PULSE_SERVER)."""
    with audio_server(tmp_path_factory.mktemp("pulse")) as server:
        yield server


@pytest.fixture(scope="module")
def player_site(tmp_path_factory, wesnoth_track):
    """The player page and 20 s of real music as WebM/Opus (Firefox's MediaSource takes WebM,
    not Ogg: `MediaSource.isTypeSupported` seen here), on a loopback server."""
    if not shutil.which("ffmpeg"):
        pytest.fail("ffmpeg is needed to make the MediaSource test stream (Makefile APT_PKGS)")
    site = tmp_path_factory.mktemp("player")
    song = wesnoth_track("loyalists.ogg")
    subprocess.run(
        [
            "ffmpeg",
            "-loglevel",
            "error",
            "-y",
            "-ss",
            "12",  # past the quiet intro
            "-t",
            "20",
            "-i",
            str(song),
            "-c:a",
            "libopus",
            "-b:a",
            "160k",
            "-f",
            "webm",
            str(site / "song.webm"),
        ],
        check=True,
    )
    (site / "player.html").write_text(PLAYER)
    server, base = serve_directory(site)
    yield base
    server.shutdown()


def context_menu_click(session, selector: str, item_suffix: str) -> None:
    """Right-click `selector` in the current page, then click the extension's menu item whose id
    ends in `item_suffix` in Firefox's content-area context menu."""
    m = session.marionette
    element = m.find_element("css selector", selector)
    mouse = m.actions.sequence("pointer", "mouse", pointer_params={"pointerType": "mouse"})
    mouse.pointer_move(0, 0, origin=element).pointer_down(button=2).pointer_up(button=2).perform()
    with m.using_context("chrome"):
        clicked = wait_for(
            lambda: m.execute_script(
                "const doc = Services.wm.getMostRecentWindow('navigator:browser').document;"
                "const menu = doc.getElementById('contentAreaContextMenu');"
                "const item = [...menu.querySelectorAll('menuitem')]"
                " .find((i) => i.id.endsWith(arguments[0]) && !i.hidden);"
                "if (menu.state !== 'open' || !item) return false;"
                "menu.activateItem(item); return true;",
                script_args=[item_suffix],
            ),
            10,
            interval=0.2,
            what="the context menu with the extension's item",
        )
        assert clicked


def set_default_model(session, model_id: str) -> None:
    """The default model setting ('' the bundled one): a removed imported model fails the job."""
    session.call(
        "const {settings} = await ext.storage.local.get('settings');"
        "await ext.storage.local.set({settings: {...(settings ?? {}), defaultModel: args[0]}});",
        model_id,
    )


def badge_text(session) -> str:
    return session.call("return await ext.action.getBadgeText({});")


def test_blob_media_element_is_recorded_and_its_stems_match_the_native_pipeline(
    packaged, native_stems, audio_device, player_site, tmp_path
):
    """Right-click a playing MediaSource <audio>, "Demix this audio": the popup lists it as
    recording (badge REC) while the page plays on; Stop makes the recording a job whose stems
    equal the native CLI's on the same recorded file."""
    from tests.e2e.firefox import FirefoxSession

    xpi = next(packaged(Precision.INT8_WEIGHTS).glob("*-firefox.xpi"))
    session = FirefoxSession.start(xpi, tmp_path, PREFS)
    try:
        session.open_url(f"{player_site}/player.html")
        page = session.marionette.current_window_handle
        src = session.marionette.execute_async_script(
            "const done = arguments[0]; window.wrappedJSObject.ready.then(done, (e) => done(String(e)));"
        )
        assert src.startswith("blob:"), src
        session.script("document.querySelector('audio').play();")
        context_menu_click(session, "audio", "demix-media")

        session.open("popup/popup.html")
        job = wait_for(lambda: [j for j in session.jobs() if j["state"] == "recording"], 10, what="a recording")[0]
        assert badge_text(session) == "REC"
        # The token alone is not enough: from another tab (this extension page) it is refused.
        forged = session.call(
            "return await ext.runtime.sendMessage({target: 'background', type: 'record-chunk',"
            " data: {token: args[0], index: 99, blob: new Blob(['not audio'])}});",
            job["recording"]["token"],
        )
        assert forged["ok"] is False and "refused" in forged["error"], forged
        time.sleep(12)  # the music plays on, recorded
        shown = session.script("return document.querySelector('li.job[data-state=recording] .progress-text')")
        assert "Recording" in shown.text
        assert session.click_all("li.job button.stop-recording") == 1
        recorded = session.call(READ_INPUT, job["id"])
        assert recorded["type"] == "audio/ogg"
        recording = tmp_path / "recording.ogg"
        recording.write_bytes(base64.b64decode(recorded["data"]))

        done = wait_for(
            lambda: [j for j in session.jobs() if j["id"] == job["id"] and j["state"] in ("done", "failed")],
            120,
            what="the recorded job to finish",
        )[0]
        assert done["state"] == "done", done
        assert badge_text(session) == ""
        assert 3.0 < done["durationS"] < 16.0, done["durationS"]  # of the 12 s played (fewer arrive under load)
        session.marionette.switch_to_window(page)
        assert not session.script("return document.querySelector('audio').paused")  # the page played on
        session.open("popup/popup.html")
        assert session.click_all("button.download") == len(STEMS)
        ours = session.wait_downloads([f"Player-{s}.wav" for s in STEMS])
    finally:
        session.quit()

    native_length = sf.info(recording).duration
    assert abs(native_length - done["durationS"]) < 0.01, (
        f"the recording decodes to {done['durationS']:.3f} s in Firefox but {native_length:.3f} s natively; "
        f"Ogg pages (granule - samples so far): {ogg_opus_timeline(recording.read_bytes())}; kept at {recording}"
    )
    reference = native_stems(recording, Precision.INT8_WEIGHTS)
    for stem, path in zip(STEMS, ours, strict=True):
        browser_stem, rate = sf.read(path, dtype="float32")
        # Both write stems at the input's rate (Opus: 48 kHz), each with its own resampler.
        native, native_rate = sf.read(reference / f"recording-{stem}.wav", dtype="float32")
        assert rate == native_rate == 48000
        assert abs(len(native) - len(browser_stem)) <= 2, (len(native), len(browser_stem))
        length = min(len(native), len(browser_stem))
        sdr = sdr_db(native[:length], browser_stem[:length])
        print(f"firefox recorded blob: media, {stem}: browser vs native {sdr:.1f} dB SDR, {done['durationS']:.1f} s")
        assert sdr >= INT8_FLOOR_DB, (stem, sdr)


def test_tab_closed_mid_recording_keeps_what_was_recorded(packaged, audio_device, player_site, tmp_path):
    """Closing the tab ends the recording (tabs.onRemoved) with the chunks already sent: the job
    runs on them and the badge goes. The job fails the first time (its model was removed): the
    recording is its only copy, so it stays (before: deleted with the job's data), offered for
    download and "Try again", which makes the stems once the model is back."""
    from tests.e2e.firefox import FirefoxSession

    xpi = next(packaged(Precision.INT8_WEIGHTS).glob("*-firefox.xpi"))
    session = FirefoxSession.start(xpi, tmp_path, PREFS)
    m = session.marionette
    try:
        session.open_url(f"{player_site}/player.html")
        page = m.current_window_handle
        m.execute_async_script("const done = arguments[0]; window.wrappedJSObject.ready.then(done, done);")
        session.script("document.querySelector('audio').play();")
        context_menu_click(session, "audio", "demix-media")
        session.open("popup/popup.html")
        popup = m.current_window_handle
        job = wait_for(lambda: [j for j in session.jobs() if j["state"] == "recording"], 10, what="a recording")[0]
        set_default_model(session, "a-model-since-removed")
        time.sleep(6)
        m.switch_to_window(page)
        m.close()
        m.switch_to_window(popup)

        def ended():
            return [j for j in session.jobs() if j["id"] == job["id"] and j["state"] in ("done", "failed")]

        failed = wait_for(ended, 90, what="the job of the closed tab's recording")[0]
        assert failed["state"] == "failed" and "has been removed" in failed["error"], failed
        assert stored_counts(session, job["id"]) == {"inputs": 1, "chunks": 0, "stems": 0}  # the recording
        row = f"li.job[data-job='{job['id']}']"
        wait_for(lambda: session.click_all(f"{row} button.download-recording"), 10, what="Download recording")
        # Firefox names an Opus download by the type it sniffs (.ogx: docs/usage.md), whatever the page says
        [recording] = wait_for(
            lambda: [p for p in session.downloads.glob("Player-recording.og*") if p.suffix != ".part"],
            30,
            what="the recording's download",
        )
        time.sleep(0.5)
        assert 0.5 < sf.info(recording).duration < 9.0
        set_default_model(session, "")
        assert session.click_all(f"{row} button.retry") == 1
        done = wait_for(lambda: (j := ended()) and j[0]["state"] == "done" and j, 90, what="the job tried again")[0]
        assert abs(done["durationS"] - sf.info(recording).duration) < 0.05, (done["durationS"], sf.info(recording))
        print(f"firefox: the failed job kept its recording ({recording.name}, {sf.info(recording).duration:.2f} s);"
              f" tried again: done, {done['durationS']:.2f} s")  # fmt: skip
        assert 0.5 < done["durationS"] < 9.0, done["durationS"]  # what was sent before the close
        assert badge_text(session) == ""
    finally:
        session.quit()


def test_drm_media_is_refused_with_the_reason(packaged, audio_device, player_site, tmp_path):
    from tests.e2e.firefox import FirefoxSession

    xpi = next(packaged(Precision.INT8_WEIGHTS).glob("*-firefox.xpi"))
    session = FirefoxSession.start(xpi, tmp_path, PREFS)
    try:
        session.open_url(f"{player_site}/player.html")
        protected = session.marionette.execute_async_script(
            "const done = arguments[0]; const page = window.wrappedJSObject;"
            "page.ready.then(() => page.protect()).then(() => done(true), (e) => done(String(e)));"
        )
        assert protected is True, protected
        context_menu_click(session, "audio", "demix-media")
        session.open("popup/popup.html")
        failed = wait_for(lambda: [j for j in session.jobs() if j["state"] == "failed"], 30, what="the failure")[0]
        assert "protected by DRM" in failed["error"], failed["error"]
        assert badge_text(session) == ""
    finally:
        session.quit()


def test_cross_origin_media_without_cors_gives_a_clear_message(packaged, audio_device, player_site, tmp_path):
    """An <audio> playing a file from another site that sends no CORS headers, the user denying
    the site's permission: the extension cannot fetch it and the page may play it but not
    record it (Firefox's MediaRecorder throws SecurityError); the job says so."""
    from tests.e2e.firefox import FirefoxSession

    files = tmp_path / "other-site"
    files.mkdir()
    shutil.copy(wesnoth_clip(tmp_path), files / "song.ogg")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(files))  # no CORS headers
    other = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=other.serve_forever, daemon=True).start()
    page = tmp_path / "page"
    page.mkdir()
    song_url = f"http://localhost:{other.server_address[1]}/song.ogg"  # another origin than 127.0.0.1
    (page / "index.html").write_text(
        f'<!doctype html><title>Elsewhere</title><audio controls src="{song_url}"></audio>'
    )
    server, base = serve_directory(page)
    xpi = next(packaged(Precision.INT8_WEIGHTS).glob("*-firefox.xpi"))
    session = FirefoxSession.start(xpi, tmp_path, PREFS)
    try:
        session.open_url(f"{base}/index.html")
        session.marionette.execute_async_script(
            "const done = arguments[0];"
            "document.querySelector('audio').play().then(() => done(true), (e) => done(String(e)));"
        )
        context_menu_click(session, "audio", "demix-media")
        with session.marionette.using_context("chrome"):
            denied = wait_for(
                lambda: session.marionette.execute_script(
                    "const win = Services.wm.getMostRecentWindow('navigator:browser');"
                    "const asked = win.PopupNotifications.getNotification('addon-webext-permissions');"
                    "if (!asked) return false;"
                    "asked.secondaryActions[0].callback(); asked.remove(); return true;"
                ),
                10,
                interval=0.2,
                what="the extension's permission prompt",
            )
            assert denied
        session.open("popup/popup.html")
        failed = wait_for(lambda: [j for j in session.jobs() if j["state"] == "failed"], 30, what="the failure")[0]
        assert "another site" in failed["error"] and "no CORS" in failed["error"], failed["error"]
        assert badge_text(session) == ""
    finally:
        session.quit()
        server.shutdown()
        other.shutdown()


def wesnoth_clip(tmp_path) -> Path:
    """8 s of real music as Ogg Vorbis (plays as a plain file anywhere)."""
    clip = tmp_path / "clip.ogg"
    subprocess.run(
        [
            "ffmpeg",
            "-loglevel",
            "error",
            "-y",
            "-t",
            "8",
            "-i",
            str(WESNOTH / "loyalists.ogg"),
            "-c:a",
            "libvorbis",
            str(clip),
        ],
        check=True,
    )
    return clip


def ogg_opus_timeline(data: bytes) -> list[tuple[int, int]]:
    """(page, granule position - Opus samples up to that page) for each audio page whose
    difference changes: a clean recording is [(2, 0), (last, -end trim)]; anything else (a start
    offset, a gap) is where two decoders may disagree."""
    frame_sizes = [480, 960, 1920, 2880]
    timeline, samples, last, at, page = [], 0, None, 0, 0
    while at + 27 <= len(data) and data[at : at + 4] == b"OggS":
        granule = int.from_bytes(data[at + 6 : at + 14], "little", signed=True)
        lacing = data[at + 27 : at + 27 + data[at + 26]]
        body = at + 27 + len(lacing)
        packet_start, size = body, 0
        for segment in lacing:
            size += segment
            if segment < 255:
                packet = data[packet_start : packet_start + size]
                if page >= 2 and packet:
                    config, code = packet[0] >> 3, packet[0] & 3
                    if config < 12:
                        frame = frame_sizes[config & 3]
                    elif config < 16:
                        frame = 480 if config & 1 == 0 else 960
                    else:
                        frame = [120, 240, 480, 960][config & 3]
                    samples += frame * (1 if code == 0 else 2 if code in (1, 2) else packet[1] & 63)
                packet_start += size
                size = 0
        if page >= 2 and granule >= 0 and granule - samples != last:
            last = granule - samples
            timeline.append((page, last))
        at = body + sum(lacing)
        page += 1
    return timeline


def test_a_recording_ends_when_its_page_navigates_or_its_media_stays_paused(
    packaged, audio_device, player_site, tmp_path
):
    """The two other ends of a page recording, each kept as a job with what was played: the page
    loading another address (tabs.onUpdated in the background), and the media paused for longer
    than the recorder waits (10 s, page-recorder.js): the pause itself is not in the recording."""
    from tests.e2e.firefox import FirefoxSession

    xpi = next(packaged(Precision.INT8_WEIGHTS).glob("*-firefox.xpi"))
    session = FirefoxSession.start(xpi, tmp_path, PREFS)
    m = session.marionette
    try:
        for how in ("navigate", "pause"):
            session.open_url(f"{player_site}/player.html")
            page = m.current_window_handle
            m.execute_async_script("const done = arguments[0]; window.wrappedJSObject.ready.then(done, done);")
            session.script("document.querySelector('audio').play();")
            context_menu_click(session, "audio", "demix-media")
            m.switch_to_window(m.open(type="tab")["handle"])
            session.open("popup/popup.html")
            popup = m.current_window_handle
            recording = wait_for(lambda: [j for j in session.jobs() if j["state"] == "recording"], 10, what=how)[0]
            time.sleep(4)
            m.switch_to_window(page)
            since = time.monotonic()
            if how == "navigate":
                m.navigate(f"{player_site}/")  # in this tab (open_url opens a new one)
            else:
                session.script("document.querySelector('audio').pause();")
            m.switch_to_window(popup)

            def ended(job_id=recording["id"]):
                return [j for j in session.jobs() if j["id"] == job_id and j["state"] != "recording"]

            wait_for(ended, 30, 0.2, f"the recording to end ({how})")
            took = time.monotonic() - since
            job = wait_for(lambda: (j := ended()) and j[0]["state"] in ("done", "failed") and j[0], 90, what=how)
            print(f"firefox {how}: the recording ended after {took:.1f} s, kept {job['durationS']:.2f} s")
            assert job["state"] == "done", job
            # 4 s played, not the pause; a page that goes away takes its last second (the chunk
            # being recorded) with it, and the recorder starts a moment after the click (up to
            # 1.5 s on the 2-core machine under the suite: 2.46 s kept once)
            assert (1.0 if how == "navigate" else 2.0) < job["durationS"] < 7.5, (how, job["durationS"])
            if how == "pause":
                assert 9.0 < took < 20.0, took  # the recorder's 10 s
            assert badge_text(session) == ""
            m.close()
            m.switch_to_window(page)
    finally:
        session.quit()
