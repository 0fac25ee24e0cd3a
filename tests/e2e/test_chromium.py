"""The Chrome extension end to end, in headless Chromium, on real music."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import soundfile as sf

from builder.validate import sdr_db
from models.spec import Precision
from tests.conftest import DATA
from tests.e2e.chromium import ORIGIN
from tests.e2e.conftest import wait_for
from tests.e2e.netlog import network_requests
from tests.e2e.servers import CountingProxy, serve_directory

pytestmark = [pytest.mark.browser, pytest.mark.slow]
STEMS = ("vocals", "accompaniment")
FLOORS = {Precision.INT8_WEIGHTS: 30.0, Precision.FP32: 40.0}


def _finished_job(session, timeout=300):
    def finished():
        jobs = session.jobs()
        return jobs and jobs[0]["state"] in ("done", "failed", "cancelled") and jobs[0]

    job = wait_for(finished, timeout, what="the job to finish")
    assert job["state"] == "done", job
    return job


@pytest.mark.parametrize("precision", [Precision.INT8_WEIGHTS, Precision.FP32], ids=lambda p: p.value)
def test_local_file_stems_match_the_native_reference(chromium, native_stems, precision):
    song = DATA / "excerpt.flac"
    session = chromium(precision)
    session.open("page/page.html")
    session.pick_file(song)
    job = _finished_job(session)
    assert [s["stem"] for s in job["stems"]] == list(STEMS)
    assert job["threads"] >= 1

    assert session.click_all("button.download") == len(STEMS)
    downloads = session.wait_downloads([f"excerpt-{s}.wav" for s in STEMS])
    reference = native_stems(song, precision)
    for stem, path in zip(STEMS, downloads, strict=True):
        browser, rate = sf.read(path, dtype="float32")
        native, _ = sf.read(reference / f"excerpt-{stem}.wav", dtype="float32")
        assert rate == 44100 and browser.shape == native.shape
        sdr = sdr_db(native, browser)
        print(f"{precision.value} {stem}: browser vs native SDR {sdr:.1f} dB")
        assert sdr >= FLOORS[precision], (stem, sdr)


def test_download_all_is_one_zip_with_every_stem(chromium, tmp_path):
    session = chromium()
    session.open("page/page.html")
    session.pick_file(DATA / "excerpt.flac")
    _finished_job(session)
    assert session.click_all("button.download-all") == 1
    (archive,) = session.wait_downloads(["excerpt-stems.zip"])
    shutil.unpack_archive(archive, tmp_path / "unzipped", "zip")
    names = sorted(p.name for p in (tmp_path / "unzipped").iterdir())
    assert names == sorted(f"excerpt-{s}.wav" for s in STEMS)


def test_context_menu_items_exist_with_their_contexts(chromium):
    session = chromium()
    session.open("popup/popup.html")
    menus = session.call(
        "const {MENUS} = await import('/background/menus.js');"
        "for (const m of MENUS) await chrome.contextMenus.update(m.id, {});"  # rejects if missing
        "return MENUS;"
    )
    contexts = {m["id"]: set(m["contexts"]) for m in menus}
    assert contexts == {"demix-media": {"audio", "video"}, "demix-link": {"link"}}
    link = next(m for m in menus if m["id"] == "demix-link")
    for ext in ("mp3", "wav", "ogg", "oga", "opus", "flac", "m4a", "aac", "webm"):
        assert f"*://*/*.{ext}" in link["targetUrlPatterns"]


def test_audio_element_on_a_web_page_is_demixed(chromium, tmp_path):
    """The menu's path: the <audio> element's source URL, fetched by the extension, demixed."""
    site = tmp_path / "site"
    site.mkdir()
    excerpt, rate = sf.read(DATA / "excerpt.flac", dtype="float32")
    sf.write(site / "song.ogg", excerpt[: rate * 6], rate, format="OGG", subtype="VORBIS")
    (site / "index.html").write_text(
        '<!doctype html><title>Song</title><audio controls src="song.ogg"></audio>'
    )
    server, base = serve_directory(site)
    try:
        session = chromium()
        session.driver.get(f"{base}/index.html")
        src = session.driver.execute_script("return document.querySelector('audio').currentSrc")
        assert src == f"{base}/song.ogg"
        session.open("popup/popup.html")
        session.call(
            "const reply = await chrome.runtime.sendMessage("
            "{target: 'background', type: 'start-url-job', data: {url: args[0], name: 'song'}});"
            "if (!reply.ok) throw new Error(reply.error);",
            src,
        )
        job = _finished_job(session)
        assert job["name"] == "song" and abs(job["durationS"] - 6.0) < 0.05
        assert session.click_all("button.download") == len(STEMS)
        paths = session.wait_downloads([f"song-{s}.wav" for s in STEMS])
        stems = [sf.read(p, dtype="float32")[0] for p in paths]
        assert all(np.sqrt(np.mean(s**2)) > 1e-3 for s in stems)  # both stems carry sound
    finally:
        server.shutdown()


def test_a_404_url_fails_with_a_clear_message(chromium, tmp_path):
    server, base = serve_directory(tmp_path)
    try:
        session = chromium()
        session.open("popup/popup.html")
        session.call(
            "await chrome.runtime.sendMessage({target: 'background', type: 'start-url-job',"
            " data: {url: args[0], name: 'missing'}});",
            f"{base}/missing.mp3",
        )
        job = wait_for(lambda: [j for j in session.jobs() if j["state"] == "failed"], 60, what="failure")[0]
        assert "404" in job["error"]
        text = wait_for(lambda: session.driver.execute_script(
            "return document.querySelector('li.job .error')?.textContent"), 10, what="the error shown")  # fmt: skip
        assert "404" in text
    finally:
        server.shutdown()


def test_no_network_request_during_a_local_file_demix(chromium, tmp_path):
    """Every request the network stack starts is logged (NetLog) with the origin that caused it;
    a proxy refuses anything that gets out. During a whole local demix, nothing may come from
    the extension (Chromium's own update/time checks carry no origin and are not ours)."""
    proxy = CountingProxy()
    netlog = tmp_path / "netlog.json"
    try:
        session = chromium(extra_args=(
            f"--proxy-server=http://127.0.0.1:{proxy.port}", "--proxy-bypass-list=<-loopback>",
            f"--log-net-log={netlog}", "--net-log-capture-mode=Default",
        ))  # fmt: skip
        session.open("page/page.html")
        session.pick_file(DATA / "excerpt.flac")
        _finished_job(session)
        assert session.click_all("button.download") == len(STEMS)
        session.wait_downloads([f"excerpt-{s}.wav" for s in STEMS])
        demix_ended = len(proxy.requests)
        # Positive control: a request the extension does make is seen, attributed and refused.
        session.call("await fetch('http://demixer-network-probe.invalid/').catch(() => null);")
        session.quit()
    finally:
        proxy.close()
    ours = [(url, origin) for url, origin in network_requests(netlog) if origin == ORIGIN]
    assert ours == [("http://demixer-network-probe.invalid/", ORIGIN)]
    assert any("demixer-network-probe" in r for r in proxy.requests[demix_ended:])
