"""shared/practice.js under Node: the practice controls' ranges, song time with a tempo and a loop,
where a play starts, the rendered length and the mix's file-name suffix."""

import json
import subprocess

from tests.conftest import ROOT


def _node(script: str):
    prelude = "import * as p from './extension/shared/practice.js';"
    out = subprocess.run(["node", "--input-type=module", "-e", prelude + script],
                         cwd=ROOT, capture_output=True, text=True, check=True, timeout=60)  # fmt: skip
    return json.loads(out.stdout)


def test_practice_maths():
    r = _node(
        "const n = p.NEUTRAL; const loop = {a: 2, b: 4};"
        "console.log(JSON.stringify({"
        " clamped: p.withPractice(n, {semitones: 15, cents: -70, tempo: 3}),"
        " low: p.withPractice(n, {semitones: -12.4, tempo: 0.1}),"
        " shift: p.transposition({...n, semitones: -5, cents: 17}),"
        " stretch: [p.needsStretch(n), p.needsStretch({...n, tempo: 0.75}), p.needsStretch({...n, cents: 1}),"
        "   p.needsStretch({...n, loop})],"
        " plain: p.songTime(1, 2, 1, null, 10), slow: p.songTime(1, 2, 0.5, null, 10),"
        " end: p.songTime(9, 5, 1, null, 10),"
        " wrapped: p.songTime(3, 2.5, 1, loop, 10), wrappedSlow: p.songTime(2, 5, 0.5, loop, 10),"
        " starts: [p.startOf(5, loop), p.startOf(3, loop), p.startOf(1, loop), p.startOf(7, null)],"
        " loops: [p.loopOf(5, 3, 10), p.loopOf(3, 3.1, 10), p.loopOf(-1, 12, 10)],"
        " frames: [p.renderedFrames(44100, 0.25), p.renderedFrames(44101, 2)],"
        " names: [p.practiceSuffix(n), p.practiceSuffix({...n, semitones: -5}), p.practiceSuffix({...n, cents: 17}),"
        "   p.practiceSuffix({...n, semitones: 3, cents: -50, tempo: 0.75})],"
        " signs: [p.signed(3), p.signed(-5), p.signed(0)],"
        "}));"
    )
    assert r["clamped"] == {"semitones": 12, "cents": -50, "tempo": 2, "loop": None}
    assert r["low"]["semitones"] == -12 and r["low"]["tempo"] == 0.25
    assert abs(r["shift"] - -4.83) < 1e-9
    assert r["stretch"] == [False, True, True, False]  # a loop alone plays the plain buffers
    assert (r["plain"], r["slow"], r["end"]) == (3, 2, 10)
    assert abs(r["wrapped"] - 3.5) < 1e-9 and abs(r["wrappedSlow"] - 2.5) < 1e-9
    assert r["starts"] == [2, 3, 2, 7]
    assert r["loops"] == [{"a": 3, "b": 5}, None, {"a": 0, "b": 10}]
    assert r["frames"] == [176400, 22051]
    assert r["names"] == ["", "-key-5", "-key+0.17", "-key+2.5-tempo75"]
    assert r["signs"] == ["+3", "−5", "0"]
