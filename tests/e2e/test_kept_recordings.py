"""Nothing the user recorded is lost (docs/reliability.md, "Faults"), Chromium's live path: a
kept live capture is the only copy of what was heard, so

* Stop's save of the mix refused by the store (as Chromium refused the 10-minute capture's:
  "Failed to write blobs (IOError)"): the job is listed failed, the mix's chunks stay, the
  recording downloads all the same (joined in memory), and the next start joins it;
* the offline job of that recording failing (its model removed): the recording stays, through
  the background's sweep, offered for download and "Try again" (reached by the keyboard), which
  makes the stems; Remove (asked first) deletes it;
* a chunk of the mix refused mid-capture (a disk filling up): the mix up to it is kept.

The store's refusal is forced in the offscreen document only, through the DevTools protocol:
the extension has no test hook. Firefox's page recorder: test_firefox_record.py.
"""

from __future__ import annotations

import contextlib
import json
import time
import urllib.request

import numpy as np
import pytest
import soundfile as sf
import websocket
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from builder.package import CHROME_ID
from tests.e2e.conftest import stored_counts, wait_for, wake_background
from tests.e2e.live_scripts import START_LIVE
from tests.e2e.test_live import open_music_then_popup, wait_ended, wait_live

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LISTEN_S = 5
REMOVED_MODEL = "a-model-since-removed"
MODEL_GONE = "The model chosen for this job has been removed"  # bundleModelRemoved
# In the offscreen document (where inference/live.js stores the mix): the store refuses the
# write of any joined mix, as Chromium did at the 10-minute capture's Stop, and of the mix's
# chunks from index `refuseChunksFrom` on (a disk filling up mid-capture).
REFUSE_MIX = """(() => {
  globalThis.refuseChunksFrom = %s;
  if (globalThis.refusing) return 'refusing';
  globalThis.refusing = true;
  const put = IDBObjectStore.prototype.put;
  IDBObjectStore.prototype.put = function (value, key) {
    if (Array.isArray(key) && key[1] === 'recorded-mix'
        && (this.name === 'stems' || (this.name === 'chunks' && key[2] >= globalThis.refuseChunksFrom))) {
      throw new DOMException('Failed to write blobs (IOError)', 'UnknownError');
    }
    return put.call(this, value, key);
  };
  return 'refusing';
})()"""


def evaluate_in_offscreen(session, expression: str):
    """Runtime.evaluate in the extension's offscreen document (a target chromedriver does not
    drive), over the DevTools endpoint chromedriver started the browser with."""
    address = session.driver.capabilities["goog:chromeOptions"]["debuggerAddress"]
    with urllib.request.urlopen(f"http://{address}/json/list", timeout=10) as reply:
        targets = json.load(reply)
    url = f"chrome-extension://{CHROME_ID}/"
    target = next((t for t in targets if t["url"].startswith(url) and "offscreen" in t["url"]), None)
    assert target, [(t["type"], t["url"]) for t in targets]
    connection = websocket.create_connection(target["webSocketDebuggerUrl"], timeout=20, suppress_origin=True)
    try:
        connection.send(json.dumps({"id": 1, "method": "Runtime.evaluate", "params": {"expression": expression}}))
        while (answer := json.loads(connection.recv())).get("id") != 1:
            pass
    finally:
        connection.close()
    return answer["result"]["result"].get("value")


def set_default_model(session, model_id: str) -> None:
    session.call(
        "const {settings} = await ext.storage.local.get('settings');"
        "await ext.storage.local.set({settings: {...(settings ?? {}), defaultModel: args[0]}});",
        model_id,
    )


def job_of(session, job_id: str) -> dict:
    return next(j for j in session.jobs() if j["id"] == job_id)


def ended_again(session, job: dict, timeout: float = 120) -> dict:
    """``job`` once it has ended again: changed since ``job`` was read (Try again queues it first)."""

    def ended():
        now = job_of(session, job["id"])
        return now["updatedAt"] > job["updatedAt"] and now["state"] in ("done", "failed", "cancelled") and now

    return wait_for(ended, timeout, what=f"job {job['id']} to end again")


def restart_background(session) -> None:
    session.stop_background()
    wake_background(session)


def test_a_live_recording_is_kept_when_its_save_or_its_job_fails(chromium, site):
    session = chromium
    since = time.monotonic()
    open_music_then_popup(session, site)
    started = session.call(START_LIVE, False)
    wait_live(session)
    assert evaluate_in_offscreen(session, REFUSE_MIX % "Infinity") == "refusing"
    time.sleep(LISTEN_S)
    assert session.click_all("#live-stop") == 1
    ended = wait_ended(session)
    job_id = started["jobId"]
    # Before: kept false, no job, and the chunks swept at the next start.
    assert ended["kept"] and "Failed to write blobs" in ended.get("notSaved", ""), ended
    job = wait_for(lambda: next((j for j in session.jobs() if j["id"] == job_id), None), 10, what="the job")
    assert job["state"] == "failed" and "could not be saved" in job["error"], job
    assert "Failed to write blobs" in job["error"], job["error"]
    stored = stored_counts(session, job_id)
    assert stored["chunks"] > 0 and stored["stems"] == 0, stored

    # The recording downloads while it is still chunks (nothing is written for it).
    row = f"li.job[data-job='{job_id}']"
    wait_for(lambda: session.click_all(f"{row} button.download-recording"), 10, what="Download recording")
    [mix_file] = wait_for(lambda: list(session.downloads.glob("*-mix.wav")), 30, what="the recording's download")
    time.sleep(0.5)
    mix, rate = sf.read(mix_file, dtype="float32")
    assert rate == 44100 and abs(len(mix) / rate - ended["durationS"]) < 0.01, (len(mix), ended["durationS"])
    assert np.sqrt(np.mean(mix**2)) > 0.01  # the music, not silence

    # The next start joins the chunks and runs the job, which fails (its model is gone): the
    # recording stays, through the sweep of the start after.
    set_default_model(session, REMOVED_MODEL)
    restart_background(session)
    failed = wait_for(
        lambda: (j := job_of(session, job_id))["state"] == "failed" and j.get("starts") and j,
        60,
        what="the job to run again and fail",
    )
    assert "unsaved" not in failed and MODEL_GONE in failed["error"], failed
    kept = {"inputs": 0, "chunks": 0, "stems": 1}
    assert stored_counts(session, job_id) == kept
    restart_background(session)
    time.sleep(2)
    assert stored_counts(session, job_id) == kept  # before: swept

    # Try again, from the keyboard, with the model back: the stems of the same recording.
    set_default_model(session, "")
    retry = wait_for(lambda: session.driver.find_elements(By.CSS_SELECTOR, f"{row} button.retry"), 10, what="retry")[0]
    assert "Try again" in retry.get_attribute("aria-label")
    before = job_of(session, job_id)
    retry.send_keys(Keys.ENTER)
    done = ended_again(session, before)
    assert done["state"] == "done", done
    assert [s["stem"] for s in done["stems"]] == ["vocals", "accompaniment"]
    assert abs(done["durationS"] - len(mix) / rate) < 0.01, (done["durationS"], len(mix) / rate)
    assert stored_counts(session, job_id)["stems"] == 3  # the two stems and the recording

    # Remove deletes the recording, asked first.
    assert session.click_all(f"{row} button.remove") == 1
    assert session.click_all(f"{row} button.confirm") == 1
    wait_for(lambda: all(j["id"] != job_id for j in session.jobs()), 20, what="the job to go")
    with contextlib.suppress(TimeoutError):
        wait_for(lambda: stored_counts(session, job_id) == {"inputs": 0, "chunks": 0, "stems": 0}, 10)
    assert stored_counts(session, job_id) == {"inputs": 0, "chunks": 0, "stems": 0}

    # A chunk refused mid-capture: the mix up to it is the recording (before: all deleted).
    assert evaluate_in_offscreen(session, REFUSE_MIX % 2) == "refusing"  # the document of the first capture
    session.call(START_LIVE, False)
    wait_live(session)
    time.sleep(LISTEN_S)
    assert session.click_all("#live-stop") == 1
    cut = wait_ended(session)
    assert cut["kept"] and "Failed to write blobs" in cut.get("notSaved", ""), cut
    job = wait_for(lambda: next((j for j in session.jobs() if j["id"] == cut["jobId"]), None), 10, what="the job")
    assert job["state"] == "failed" and stored_counts(session, job["id"]) == {"inputs": 0, "chunks": 2, "stems": 0}
    before = job_of(session, job["id"])
    assert session.click_all(f"li.job[data-job='{job['id']}'] button.retry") == 1
    again = ended_again(session, before)
    # the two chunks stored (2 hops, 1.49 s); the capture counts the frames it recorded until the refusal was known
    assert again["state"] == "done" and 0 < again["durationS"] < cut["durationS"], (again, cut["durationS"])
    print(
        f"kept recording: {ended['durationS']:.1f} s recorded; cut at chunk 2: {again['durationS']:.2f} s"
        f" of {cut['durationS']:.1f} s; test {time.monotonic() - since:.0f} s"
    )
