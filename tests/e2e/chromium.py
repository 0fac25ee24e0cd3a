"""Drive Debian's Chromium with the built extension loaded (Selenium + chromedriver)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from builder.package import CHROME_ID

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ORIGIN = f"chrome-extension://{CHROME_ID}"


@dataclass
class ChromiumSession:
    driver: webdriver.Chrome
    downloads: Path
    closed: bool = False

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

    def pick_file(self, song: Path) -> None:
        self.driver.find_element(By.ID, "file").send_keys(str(song))

    def jobs(self) -> list[dict]:
        return self.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "chrome.storage.local.get('jobs').then((s) => done(s.jobs ?? []), () => done([]));"
        )

    def call(self, script: str, *args):
        """Run an async function body in the current extension page; `return` its result."""
        wrapped = (
            "const done = arguments[arguments.length - 1];"
            f"(async (...args) => {{ {script} }})(...Array.from(arguments).slice(0, -1))"
            ".then((v) => done({ok: true, v}), (e) => done({ok: false, e: String(e)}));"
        )
        result = self.driver.execute_async_script(wrapped, *args)
        if not result["ok"]:
            raise RuntimeError(result["e"])
        return result["v"]

    def click_all(self, selector: str) -> int:
        return self.driver.execute_script(
            "const b = [...document.querySelectorAll(arguments[0])]; b.forEach((x) => x.click()); return b.length;",
            selector,
        )

    def wait_downloads(self, names: list[str], timeout: float = 60) -> list[Path]:
        deadline = time.monotonic() + timeout
        paths = [self.downloads / n for n in names]
        while time.monotonic() < deadline:
            partial = list(self.downloads.glob("*.crdownload"))
            if all(p.is_file() for p in paths) and not partial:
                return paths
            time.sleep(0.25)
        raise TimeoutError(f"downloads missing: {[p.name for p in paths if not p.is_file()]}")

    def quit(self) -> None:
        """Idempotent: tests may quit early to flush logs, the fixture quits again."""
        if not self.closed:
            self.closed = True
            self.driver.quit()
