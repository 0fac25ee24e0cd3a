"""Drive Debian's Chromium with the built extension loaded (Selenium + chromedriver)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from builder.package import CHROME_ID
from tests.e2e.session import Session, async_call_script, unwrap

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ORIGIN = f"chrome-extension://{CHROME_ID}"


@dataclass
class ChromiumSession(Session):
    driver: webdriver.Chrome
    downloads: Path
    closed: bool = False
    name: str = field(default="chromium")

    @classmethod
    def start(cls, extension: Path, workdir: Path, extra_args=()) -> ChromiumSession:
        downloads = workdir / "downloads"
        downloads.mkdir(parents=True, exist_ok=True)
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for arg in (
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
            f"--user-data-dir={workdir / 'profile'}", f"--load-extension={extension}",
            f"--disable-extensions-except={extension}", *extra_args,
        ):  # fmt: skip
            options.add_argument(arg)
        options.add_experimental_option("prefs", {"download.default_directory": str(downloads)})
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
        behavior = {"behavior": "allow", "downloadPath": str(downloads)}
        driver.execute_cdp_cmd("Browser.setDownloadBehavior", behavior)
        return cls(driver, downloads)

    def open(self, path: str) -> None:
        """Open an extension page, e.g. ``page/page.html``."""
        self.driver.get(f"{ORIGIN}/{path}")

    def open_url(self, url: str) -> None:
        self.driver.get(url)

    def pick_file(self, song: Path, input_id: str = "file") -> None:
        self.driver.find_element(By.ID, input_id).send_keys(str(song))

    def call(self, script: str, *args):
        """Run an async function body in the current page with `ext` = chrome; return its result."""
        self.driver.set_script_timeout(120)
        return unwrap(self.driver.execute_async_script(async_call_script(script, "chrome"), *args))

    def script(self, source: str, *args):
        return self.driver.execute_script(source, *args)

    def screenshot(self, selector: str = "body") -> bytes:
        """PNG of the element ``selector`` in the current page."""
        self.driver.set_window_size(1000, 1600)
        return self.driver.find_element(By.CSS_SELECTOR, selector).screenshot_as_png

    def stop_background(self) -> None:
        """Stop the extension's service worker, as Chrome does when it is idle."""
        self.driver.execute_cdp_cmd("ServiceWorker.enable", {})
        self.driver.execute_cdp_cmd("ServiceWorker.stopAllWorkers", {})

    def quit(self) -> None:
        """Idempotent: tests may quit early to flush logs, the fixture quits again."""
        if not self.closed:
            self.closed = True
            self.driver.quit()
