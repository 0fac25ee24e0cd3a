"""Privacy and security: proven (docs/reliability.md): no network request of the extension's own."""

from __future__ import annotations

import pytest

from tests.conftest import DATA
from tests.e2e import chromium as chromium_driver
from tests.e2e.conftest import (
    STEMS,
    finished_job,
    wait_for,
)
from tests.e2e.netlog import network_requests
from tests.e2e.servers import CountingProxy

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_no_network_request_from_the_extension_during_a_local_demix(browser, tmp_path):
    """A proxy refuses and counts every request the browser sends anywhere; Chromium's NetLog
    also says which origin caused each one. During a whole local demix nothing may come from
    the extension; a positive control shows the counters do see the extension's requests."""
    proxy = CountingProxy()
    netlog = tmp_path / "netlog.json"
    extra = (f"--log-net-log={netlog}", "--net-log-capture-mode=Default") if browser.name == "chromium" else ()
    try:
        session = browser(proxy_port=proxy.port, extra_args=extra)
        session.open("page/page.html")
        before = len(proxy.requests)
        session.pick_file(DATA / "excerpt.flac")
        finished_job(session)
        assert session.click_all("button.download") == len(STEMS)
        session.wait_downloads([f"excerpt-{s}.wav" for s in STEMS])
        during = proxy.requests[before:]
        session.call("await fetch('http://demixer-network-probe.invalid/').catch(() => null);")
        wait_for(lambda: any("demixer-network-probe" in r for r in proxy.requests), 10, what="the probe")
        session.quit()
    finally:
        proxy.close()
    if browser.name == "chromium":
        ours = [(url, origin) for url, origin in network_requests(netlog) if origin == chromium_driver.ORIGIN]
        assert ours == [("http://demixer-network-probe.invalid/", chromium_driver.ORIGIN)]
    else:
        print("firefox requests during the demix:", during)
        assert during == []
