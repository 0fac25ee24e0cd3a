"""Drive Debian's firefox-esr with the built .xpi (mozrunner + Marionette; no geckodriver here).

Marionette will not navigate content to moz-extension:// pages, so extension pages are opened
as tabs from the chrome context, then driven from the content context; the page's own objects
(its `browser` API) are reached through `window.wrappedJSObject`.
"""

from __future__ import annotations

import json
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path

from marionette_driver.addons import Addons
from marionette_driver.by import By
from marionette_driver.marionette import Marionette
from mozprofile import FirefoxProfile
from mozrunner import FirefoxRunner

from builder.package import GECKO_ID
from tests.e2e.session import Session, async_call_script, unwrap

FIREFOX = "/usr/bin/firefox-esr"
UUID = "8c5e3f2a-1b7d-4c9e-9a6f-2d4b8e1c7a35"  # pinned through extensions.webextensions.uuids
ORIGIN = f"moz-extension://{UUID}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class FirefoxSession(Session):
    marionette: Marionette
    runner: FirefoxRunner
    downloads: Path
    closed: bool = False
    name: str = field(default="firefox")

    @classmethod
    def start(cls, xpi: Path, workdir: Path, prefs: dict | None = None, log_dir: Path | None = None) -> FirefoxSession:
        """``log_dir`` (default ``workdir``) gets firefox.log: Firefox's output, with the console of
        the extension's pages (console.warn / console.error of the background page)."""
        downloads = workdir / "downloads"
        downloads.mkdir(parents=True, exist_ok=True)
        port = _free_port()
        preferences = {
            "extensions.webextensions.uuids": json.dumps({GECKO_ID: UUID}),
            "marionette.port": port,
            "browser.shell.checkDefaultBrowser": False,
            "browser.download.dir": str(downloads),
            "browser.download.folderList": 2,
            "browser.download.useDownloadDir": True,
            "browser.download.always_ask_before_handling_new_types": False,
            "browser.download.start_downloads_in_tmp_dir": False,
            "browser.download.alwaysOpenPanel": False,
            # Firefox's own background traffic, off so that a test's network counts are the page's.
            "network.captive-portal-service.enabled": False,
            "network.connectivity-service.enabled": False,
            "browser.safebrowsing.malware.enabled": False,
            "browser.safebrowsing.phishing.enabled": False,
            "browser.safebrowsing.downloads.enabled": False,
            "browser.safebrowsing.update.enabled": False,
            "app.update.disabledForTesting": True,
            "datareporting.policy.dataSubmissionEnabled": False,
            "datareporting.healthreport.uploadEnabled": False,
            "toolkit.telemetry.enabled": False,
            "app.normandy.enabled": False,
            "messaging-system.rsexperimentloader.enabled": False,
            "extensions.getAddons.cache.enabled": False,
            "extensions.update.enabled": False,
            "services.settings.server": "http://127.0.0.1:9/",
            "browser.region.network.url": "",
            "network.dns.disablePrefetch": True,
            "network.prefetch-next": False,
            "devtools.console.stdout.content": True,
            **(prefs or {}),
        }
        profile = FirefoxProfile(profile=str(workdir / "profile"), preferences=preferences)
        args = ["-headless", "-marionette", "-remote-allow-system-access", "-no-remote"]
        log = ((log_dir or workdir) / "firefox.log").open("wb")  # Firefox's own chatter, kept out of the test output
        runner = FirefoxRunner(binary=FIREFOX, profile=profile, cmdargs=args, process_args={"stream": log})
        runner.start()
        marionette = Marionette(host="127.0.0.1", port=port, startup_timeout=60)
        marionette.start_session()
        Addons(marionette).install(str(xpi), temp=True)
        return cls(marionette, runner, downloads)

    def open(self, path: str) -> None:
        self.open_url(f"{ORIGIN}/{path}")

    def open_url(self, url: str) -> None:
        m = self.marionette
        before = set(m.window_handles)
        with m.using_context("chrome"):
            m.execute_script(
                "const win = Services.wm.getMostRecentWindow('navigator:browser');"
                "const principal = Services.scriptSecurityManager.getSystemPrincipal();"
                "win.gBrowser.selectedTab = win.gBrowser.addTab(arguments[0], {triggeringPrincipal: principal});",
                script_args=[url],
            )
        deadline = time.monotonic() + 20
        while not (new := set(m.window_handles) - before) and time.monotonic() < deadline:
            time.sleep(0.1)
        m.switch_to_window(new.pop())
        while m.execute_script("return document.readyState") != "complete":
            time.sleep(0.1)
        time.sleep(0.3)  # module scripts of the page

    def pick_file(self, song: Path, input_id: str = "file") -> None:
        self.marionette.find_element(By.ID, input_id).send_keys(str(song))

    def call(self, script: str, *args):
        """Run an async function body in the page with `ext` = its extension API; return its result."""
        wrapped = async_call_script(script, "window.wrappedJSObject.browser")
        return unwrap(self.marionette.execute_async_script(wrapped, script_args=list(args), script_timeout=120_000))

    def script(self, source: str, *args):
        return self.marionette.execute_script(source, script_args=list(args))

    def screenshot(self, selector: str = "body") -> bytes:
        """PNG of the element ``selector`` in the current page."""
        self.marionette.set_window_rect(width=1000, height=1600)
        element = self.marionette.find_element(By.CSS_SELECTOR, selector)
        return self.marionette.screenshot(element=element, format="binary")

    def grant_origins(self, *origins: str) -> None:
        """Grant optional host permissions, as the user's "Allow" at the context-menu click does
        (permissions.request needs a real gesture, which a test cannot give)."""
        with self.marionette.using_context("chrome"):
            self.marionette.execute_async_script(
                "const [id, origins, done] = arguments;"
                "const {ExtensionPermissions} = ChromeUtils.importESModule("
                "'resource://gre/modules/ExtensionPermissions.sys.mjs');"
                "const extension = WebExtensionPolicy.getByID(id).extension;"
                "ExtensionPermissions.add(id, {permissions: [], origins}, extension).then(() => done(true));",
                script_args=[GECKO_ID, list(origins)],
            )

    def stop_background(self) -> None:
        """Unload the event page, as Firefox does when it is idle (what its own tests call)."""
        with self.marionette.using_context("chrome"):
            self.marionette.execute_async_script(
                "const done = arguments[arguments.length - 1];"
                "WebExtensionPolicy.getByID(arguments[0]).extension.terminateBackground().then(() => done(true));",
                script_args=[GECKO_ID],
            )

    def quit(self) -> None:
        if not self.closed:
            self.closed = True
            try:
                self.marionette.delete_session()
            finally:
                self.runner.stop()
