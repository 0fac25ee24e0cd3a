"""Read Chromium's NetLog (``--log-net-log``): every URL request the network stack started."""

from __future__ import annotations

import json
from pathlib import Path

NETWORK_SCHEMES = ("http:", "https:", "ws:", "wss:", "ftp:")


def network_requests(path: Path) -> list[tuple[str, str | None]]:
    """(url, initiator origin) of each network request; the browser's own have no origin."""
    data = json.loads(path.read_text())
    start = data["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    found = []
    for event in data["events"]:
        if event["type"] != start:
            continue
        params = event.get("params", {})
        url = params.get("url", "")
        if url.startswith(NETWORK_SCHEMES):
            found.append((url, params.get("initiator")))
    return found
