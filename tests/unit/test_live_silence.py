"""Paused media (issue #14): the live capture's silence gate (extension/inference/live-silence.js,
under Node). A rest in the music is kept whole; a silence of the pause length is dropped whole and
pauses the capture until a hop with sound."""

import json
import subprocess

from tests.conftest import ROOT

SCRIPT = """
import { createSilenceGate } from './extension/inference/live-silence.js';
const [pauseFrames, hops] = JSON.parse(process.argv[1]);
const gate = createSilenceGate(pauseFrames);
// A hop is [label, silent]: 4 frames, two channels; silent ones are exact zeros.
const steps = hops.map(([label, silent]) => {
  const hop = [0, 1].map(() => new Float32Array(4).fill(silent ? 0 : label));
  const { release, paused } = gate.push(hop);
  return [release.map((h) => h[0][0]), paused];
});
console.log(JSON.stringify(steps));
"""


def gate(pause_frames, hops):
    out = subprocess.run(["node", "--input-type=module", "-e", SCRIPT, json.dumps([pause_frames, hops])], cwd=ROOT,
                         check=True, capture_output=True, text=True)  # fmt: skip
    return [tuple(step) for step in json.loads(out.stdout)]


def test_a_short_silence_is_kept_with_the_sound_that_ends_it():
    assert gate(8, [[1, False], [0, True], [2, False]]) == [([1], False), ([], False), ([0, 2], False)]


def test_a_silence_of_the_pause_length_is_dropped_and_pauses_until_sound():
    hops = [[1, False], [0, True], [0, True], [0, True], [3, False], [0, True], [4, False]]
    assert gate(8, hops) == [
        ([1], False),
        ([], False),  # held: a rest or a pause, not known yet
        ([], True),  # 8 frames of silence: paused, the held hop dropped
        ([], True),
        ([3], False),  # sound resumes, nothing of the pause comes back
        ([], False),
        ([0, 4], False),
    ]


def test_a_quiet_hop_is_not_silence():
    steps = gate(4, [[1e-7, False], [1e-7, False]])
    assert [paused for _, paused in steps] == [False, False]
