"""No user-visible English outside _locales: HTML text and labels carry data-i18n*, and JS
string literals that read like text go through t() (or are on the allowlist, with the reason)."""

from __future__ import annotations

import json
import re
import subprocess
from html.parser import HTMLParser

from tests.conftest import ROOT

EXTENSION = ROOT / "extension"
OWN = [p for p in sorted(EXTENSION.rglob("*")) if "vendor" not in p.parts]
# Attributes a user reads (or hears, from a screen reader), and the data-i18n* that fills each.
# Pages never shown -> why.
HIDDEN_PAGES = {"extension/platform/chrome/offscreen.html": "Chrome's offscreen document has no window"}
READ_ATTRIBUTES = {"aria-label": "data-i18n-label", "title": "data-i18n-title", "placeholder": "data-i18n-placeholder"}

# (file, literal as the scanner shows it: a template's ${…} as {}) -> why it is not translated.
# Developer errors: a bug or a broken build, never a user's input; they name code (process(),
# PFFFT, descriptor fields) that a translation would not help with.
ALLOWED = {
    ("extension/ui/models-view.js", "{} {} dB"): "a stem's name (the model's) and a figure with its unit",
    ("extension/inference/complex-fft.js", "PFFFT cannot transform {} points"): "a size the code chose: a bug",
    ("extension/inference/families/index.js", 'Unknown model family "{}"; known families: {}.'): (
        "a descriptor from our own build names an unknown family: a broken build"
    ),
    ("extension/inference/live-separator.js", "Invalid live parameters in {}'s descriptor: {}."): "a broken build",
    ("extension/inference/live-separator.js", "The live separator was disposed."): "a call after dispose(): a bug",
    ("extension/inference/live-separator.js", "process() was called again before the previous call finished."): "a bug",
    ("extension/inference/live-separator.js", "process() takes {} channels of {} samples."): "a bug",
    ("extension/inference/host.js", "missing {}"): "a file of our own build is missing: a broken build",
    ("extension/shared/encode-audio.js", "Opus"): "a codec's name, the same in every language",
    ("extension/inference/mp3-gapless.js", "Info"): "an MP3 header tag, read from the file",
    ("extension/inference/mp3-gapless.js", "Xing"): "an MP3 header tag, read from the file",
    ("extension/inference/mp3-gapless.js", "Lavc"): "an encoder tag, read from the file",
    ("extension/inference/mp3-gapless.js", "Lavf"): "an encoder tag, read from the file",
    ("extension/shared/wav.js", "fmt "): "a WAV chunk id",
    ("extension/ui/jobs-view.js", "job {}"): "CSS classes",
    (
        "extension/platform/chrome/inference-host.js",
        (
            "Runs the separation model (WebAssembly worker threads) on audio the user chose, and on the audio of a tab"
            " the user asked to demix live."
        ),
    ): "offscreen.createDocument's justification: for Chrome, not shown to the user",
    ("extension/background/background.js", "refused: not this extension's recorder"): (
        "the reply to a forged message, read by no user (tests/e2e/test_firefox_record.py)"
    ),
}


def _looks_like_text(text: str) -> bool:
    """Words a person reads: a capitalised word alone, a sentence, or a fragment joined to others."""
    if not re.search(r"[A-Za-z]{2}", text):
        return False
    return bool(
        re.fullmatch(r"[A-Z][a-z]+[.…!?:]?", text)
        or re.search(r"[A-Z][a-z]*\s+[a-z]", text)
        or (" " in text.strip() and re.search(r"[.!?…:]$", text.strip()))
        or re.match(r"\s+[A-Za-z]{2}", text)
        or re.search(r"[A-Za-z]{2}\s+$", text)
        or re.search(r"\{\}\s+[A-Za-z]{2}|[A-Za-z]{2}\s+\{\}", text)
    )


def _js_literals() -> list[dict]:
    files = [str(p.relative_to(ROOT)) for p in OWN if p.suffix in {".js", ".mjs"}]
    scanner = ROOT / "tests" / "structure" / "js_strings.mjs"
    result = subprocess.run(
        ["node", str(scanner), *files], cwd=ROOT, capture_output=True, text=True, check=True, timeout=120
    )
    return [json.loads(line) for line in result.stdout.splitlines() if line]


def _untranslated_js() -> list[str]:
    found = []
    for literal in _js_literals():
        holders = literal["holders"]
        if (holders and holders[-1] == "t") or any(h.startswith("console.") for h in holders):
            continue
        if (literal["file"], literal["text"]) in ALLOWED or not _looks_like_text(literal["text"]):
            continue
        found.append(f"{literal['file']}:{literal['line']}: {literal['text']!r}")
    return found


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.open: list[tuple[str, bool]] = []  # (tag, whether it or a parent sets its text)
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        named = dict(attrs)
        for attr, filler in READ_ATTRIBUTES.items():
            if named.get(attr) and filler not in named:
                self.found.append(f"line {self.getpos()[0]}: <{tag} {attr}={named[attr]!r}> without {filler}")
        if tag not in {"meta", "link", "input", "br", "img"}:
            self.open.append((tag, "data-i18n" in named or bool(self.open and self.open[-1][1])))

    def handle_endtag(self, tag):
        while self.open and self.open.pop()[0] != tag:
            pass

    def handle_data(self, data):
        if re.search(r"[A-Za-z]", data) and not (self.open and self.open[-1][1]):
            where = self.open[-1][0] if self.open else "document"
            self.found.append(f"line {self.getpos()[0]}: <{where}> text {data.strip()!r} without data-i18n")

    def handle_comment(self, data):
        pass


def _untranslated_html() -> list[str]:
    found = []
    for path in OWN:
        if path.suffix == ".html" and str(path.relative_to(ROOT)) not in HIDDEN_PAGES:
            page = _Page()
            page.feed(path.read_text(encoding="utf-8"))
            found += [f"{path.relative_to(ROOT)} {problem}" for problem in page.found]
    return found


def test_html_text_and_labels_come_from_locales():
    assert not _untranslated_html(), "\n".join(_untranslated_html())


def test_js_text_goes_through_t():
    found = _untranslated_js()
    assert not found, "\n".join(["text a user reads, outside t() (or add it to ALLOWED with why):", *found])


def test_the_allowlist_names_literals_that_exist():
    literals = {(lit["file"], lit["text"]) for lit in _js_literals()}
    assert not set(ALLOWED) - literals, set(ALLOWED) - literals


def test_the_text_detector_tells_text_from_code():
    for text in ["Cancel", "Starting…", "Could not add {}: {}", "The file is empty.", "{} left", " MB", "Latency {} s"]:
        assert _looks_like_text(text), text
    for text in ["li.job .error", "audio/*", "content-length", "SecurityError", "{}-{}.wav", "demix-tab", "%", ""]:
        assert not _looks_like_text(text), text


def test_no_message_puts_a_substitution_right_before_a_dollar():
    # "$1$2" reads as a named placeholder "$1$" to Firefox and to web-ext lint: the text is lost
    for folder in sorted((EXTENSION / "_locales").iterdir()):
        table = json.loads((folder / "messages.json").read_text(encoding="utf-8"))
        glued = [key for key, entry in table.items() if re.search(r"\$\d\$", entry["message"])]
        assert not glued, (folder.name, glued)
