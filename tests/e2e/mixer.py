"""The stem mixer (ui/mixer-view.js) driven as a user does, and axe-core's accessibility check,
shared by test_mixer.py and test_four_stems.py."""

from __future__ import annotations

import numpy as np
import soundfile as sf

from tests.conftest import ROOT
from tests.e2e.conftest import wait_for

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
# axe's own impact levels; the bar: none of these two
BLOCKING = ("serious", "critical")


def open_mixer(session, job_id: str) -> None:
    """Open the job's mixer and wait until its stems are decoded."""
    mixer = f"details.mixer[data-job='{job_id}']"
    session.script(f"document.querySelector(`{mixer}`).open = true;")
    state = lambda: session.script(f"return document.querySelector(`{mixer}`).dataset.state")  # noqa: E731
    wait_for(lambda: state() in ("paused", "failed"), 120, what="the mixer to decode the stems")
    assert state() == "paused", session.script(f"return document.querySelector(`{mixer}`).textContent")


def mixer_click(session, job_id: str, selector: str) -> int:
    return session.click_all(f"details.mixer[data-job='{job_id}'] {selector}")


def stem_gains(session, job_id: str) -> dict[str, float]:
    return session.script(
        "return Object.fromEntries([...document.querySelectorAll(`details.mixer[data-job='${arguments[0]}']"
        " .mixer-stem`)].map((r) => [r.dataset.stem, Number(r.dataset.gain)]));",
        job_id,
    )


def download_mix(session, job_id: str, file_name: str):
    """Click "Download this mix"; the file's samples (frames, channels)."""
    assert mixer_click(session, job_id, ".mixer-download") == 1
    (path,) = session.wait_downloads([file_name])
    samples, rate = sf.read(path, dtype="float64", always_2d=True)
    path.unlink()  # the next mix of the same name gets the same name, not "name (1)"
    return samples, rate


def stem_sum(paths, gains) -> np.ndarray:
    """The weighted sum in numpy of downloaded stem files."""
    return sum(g * sf.read(p, dtype="float64", always_2d=True)[0] for p, g in zip(paths, gains, strict=True))


def axe_violations(session, context: str = "document") -> list[dict]:
    """axe-core run in the current page (injected by the test: it does not ship in the
    extension); its serious and critical violations."""
    found = session.call(
        AXE.read_text() + f"\n;return (await axe.run({context}, {{resultTypes: ['violations']}})).violations"
        ".map((v) => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' '))}));"
    )
    return [v for v in found if v["impact"] in BLOCKING]
