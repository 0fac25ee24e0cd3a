"""The second language shows: with the browser in French, the popup, the full-tab page, the job
list's text (set by JS), an error worded by the inference host (Chrome's offscreen document has no
i18n API and reads the messages itself) and the manifest's name and description (`__MSG_…__`, the
model's stems filled in by the build) come from _locales/fr."""

from __future__ import annotations

import json

import pytest

from tests.conftest import ROOT
from tests.e2e.chromium import ChromiumSession
from tests.e2e.conftest import START_URL_JOB, STEMS, wait_for
from tests.e2e.firefox import FirefoxSession
from tests.e2e.servers import serve_directory

pytestmark = pytest.mark.browser

FRENCH = {key: entry["message"] for key, entry in json.loads(
    (ROOT / "extension" / "_locales" / "fr" / "messages.json").read_text(encoding="utf-8")).items()}  # fmt: skip


def _french_session(name, dist, tmp_path, monkeypatch):
    if name == "chromium":
        monkeypatch.setenv("LANGUAGE", "fr")  # Chromium picks an extension's locale from it (and --lang)
        return ChromiumSession.start(dist / "chrome", tmp_path, ["--lang=fr"])
    from marionette_driver.addons import Addons

    xpi = next(dist.glob("*-firefox.xpi"))
    session = FirefoxSession.start(xpi, tmp_path, {"intl.locale.requested": "fr"})
    # This Firefox ships en-US only, so "fr" is negotiated away; a French language pack would make
    # it available, which is what this does. The add-on takes its locale when it starts: again.
    with session.marionette.using_context("chrome"):
        session.marionette.execute_script("Services.locale.availableLocales = ['fr', 'en-US'];")
    Addons(session.marionette).install(str(xpi), temp=True)
    return session


@pytest.mark.parametrize("name", ["chromium", "firefox"])
def test_a_french_browser_shows_the_french_text(name, packaged, tmp_path, monkeypatch):
    session = _french_session(name, packaged(), tmp_path, monkeypatch)
    try:
        session.open("popup/popup.html")
        shown = lambda: session.script(  # noqa: E731
            "const empty = document.querySelector('#jobs .empty');"
            "return empty && [document.documentElement.lang, document.getElementById('open-page').textContent,"
            " empty.textContent, document.querySelector('footer').textContent];"
        )
        popup = wait_for(shown, 30, what="the popup's text")
        assert popup == ["fr", FRENCH["popupOpenFile"], FRENCH["jobsEmpty"], FRENCH["privacyFooter"]], popup
        server, base = serve_directory(tmp_path)
        try:
            session.call(START_URL_JOB, f"{base}/missing.mp3", "missing")
            failed = wait_for(lambda: [j for j in session.jobs() if j["state"] == "failed"], 60, what="the failure")
        finally:
            server.shutdown()
        said = FRENCH["fetchServerAnswered"].replace("$1", "404").replace("$2", f"{base}/missing.mp3")
        assert failed[0]["error"] == said, failed
        session.open("page/page.html")
        page = wait_for(lambda: session.script("return document.title"), 30, what="the page's title")
        assert page == FRENCH["pageTitle"]
        manifest = session.script(
            "const page = window.wrappedJSObject ?? window;"  # Firefox: the page's own globals
            "return JSON.parse(JSON.stringify((page.browser ?? page.chrome).runtime.getManifest()));"
        )
        assert manifest["name"] == FRENCH["extensionName"], manifest["name"]
        stems = ", ".join(STEMS)
        assert manifest["description"] == FRENCH["extensionDescription"].replace("$STEMS$", stems), manifest
    finally:
        session.quit()
