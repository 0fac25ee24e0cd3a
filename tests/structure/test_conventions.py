"""Conventions the code must keep, checked on the source and on the built extensions."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from builder import families
from builder.package import BROWSERS, render_manifest, stage
from models import catalog
from tests.conftest import ROOT

EXTENSION = ROOT / "extension"
OWN_JS = sorted(p for p in EXTENSION.rglob("*.js"))


def _message_types() -> dict[str, str]:
    text = (EXTENSION / "shared" / "messages.js").read_text()
    table = text[text.index("export const MSG") :]
    table = table[: table.index("});")]
    return dict(re.findall(r"(\w+): '([a-z-]+)'", table))


@pytest.fixture(scope="module", params=BROWSERS)
def staged(request, tmp_path_factory) -> tuple[str, Path]:
    target = tmp_path_factory.mktemp(f"stage-{request.param}")
    stage(request.param, target)
    return request.param, target


def test_every_message_type_has_exactly_one_handler_in_each_build(staged):
    browser, root = staged
    handled: dict[str, list[str]] = {}
    for path in root.rglob("*.js"):
        if "vendor" in path.parts:
            continue
        for key in re.findall(r"\[MSG\.(\w+)\]:", path.read_text()):
            handled.setdefault(key, []).append(str(path.relative_to(root)))
    for key in _message_types():
        assert len(handled.get(key, [])) == 1, (browser, key, handled.get(key))


# Functions injected into a page by scripting.executeScript run alone, serialised, in the
# content-script world: they cannot import browser-api.js, so they name the API themselves.
# Sync mode's registered content scripts are classic scripts, registered alone: no imports either.
INJECTED_FUNCTIONS = [
    EXTENSION / "platform" / "firefox" / "page-recorder.js",
    EXTENSION / "sync" / "tap.js",
    EXTENSION / "sync" / "relay.js",
]


def test_only_the_platform_api_file_names_the_browser_api():
    for path in OWN_JS:
        if path.name == "browser-api.js" and path.parent.parent.name == "platform":
            continue
        if path in INJECTED_FUNCTIONS:
            assert not re.search(r"^import ", path.read_text(), flags=re.M), path  # serialised alone
            continue
        code = re.sub(r"/\*.*?\*/|//[^\n]*", "", path.read_text(), flags=re.S)  # JSDoc types may name it
        assert not re.search(r"\b(chrome|browser)\s*\.", code), path


def test_only_the_model_runner_imports_onnxruntime():
    # static imports and dynamic ones (the WebGPU build is imported on first use)
    importers = [p for p in OWN_JS if re.search(r"(from\s*|import\s*\(\s*)['\"][^'\"]*vendor/ort/", p.read_text())]
    assert [p.relative_to(EXTENSION).as_posix() for p in importers] == ["inference/model-runner.js"]


def test_every_message_listener_checks_its_sender():
    # runtime messages only: a port's onMessage hears only the other end of that port, which its
    # onConnect listener checked (platform/<browser>/ sync ports: the sender is this extension's)
    for path in OWN_JS:
        text = path.read_text()
        if "runtime.onMessage.addListener" in text:
            assert "isOwnSender(sender" in text, path


def test_sync_ports_are_accepted_only_from_this_extension_in_a_tab():
    for host in (
        EXTENSION / "platform" / "chrome" / "offscreen.js",
        EXTENSION / "platform" / "firefox" / "inference-host.js",
    ):
        text = host.read_text()
        assert "port.name !== SYNC_PORT || port.sender?.id !== api.runtime.id || tabId === undefined" in text, host


def test_recorder_messages_are_obeyed_only_from_their_recorder():
    """A content script runs in a web page: the background obeys it for the recorder's messages
    only, and only with the token it was injected with, from that tab and frame
    (shared/messages.js isRecorderSender, tested under Node in tests/unit/test_messages_js.py)."""
    background = (EXTENSION / "background" / "background.js").read_text()
    assert "RECORDER_MESSAGES.includes(" in background
    assert "isRecorderSender(sender, api.runtime.id, await recorderOf(msg.data?.token))" in background
    assert _message_types()["RECORD_CHUNK"] == "record-chunk" and _message_types()["RECORD_END"] == "record-end"


def test_no_platform_branches_in_shared_code():
    for path in OWN_JS:
        if "platform" not in path.parts:
            assert not re.search(r"isFirefox|isChrome|navigator\.userAgent", path.read_text()), path


# tabCapture (Chrome): "Demix this tab" live (inference/live.js); it grants nothing by itself,
# only a capture of the tab the user invoked the extension on (menu, popup), with no host access.
# scripting (Chrome): "Karaoke in sync" registers its tap (sync/tap.js, main world) and relay
# (sync/relay.js) for one site the user granted inside the popup's click
# (background/sync-sites.js), never at install; it can reach no site without that grant.
EXPECTED_PERMISSIONS = {
    "chrome": [
        "contextMenus",
        "storage",
        "unlimitedStorage",
        "notifications",
        "activeTab",
        "offscreen",
        "tabCapture",
        "scripting",
    ],
    # scripting: Firefox has no tab capture, so a blob: media element clicked in a page is recorded
    # there by a content script injected into that frame only (activeTab grants the page at the
    # click; MV3 has no tabs.executeScript). Still no host permission at install.
    "firefox": ["contextMenus", "storage", "unlimitedStorage", "notifications", "activeTab", "scripting"],
}


@pytest.mark.parametrize("browser", BROWSERS)
def test_manifest_permissions_are_pinned_and_minimal(browser):
    manifest = render_manifest(browser, ["vocals", "accompaniment"])
    assert manifest["permissions"] == EXPECTED_PERMISSIONS[browser]
    assert "host_permissions" not in manifest  # sites are asked for one at a time, at the click
    assert manifest["optional_host_permissions"] == ["http://*/*", "https://*/*", "file:///*"]
    for key in ("externally_connectable", "web_accessible_resources", "content_scripts"):
        assert key not in manifest, key


@pytest.mark.parametrize("browser", BROWSERS)
def test_csp_allows_only_own_scripts_and_wasm(browser):
    csp = render_manifest(browser, ["vocals"])["content_security_policy"]["extension_pages"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";") if d.strip())
    assert directives["script-src"] == "'self' 'wasm-unsafe-eval'"
    assert directives["default-src"] == "'self'"
    assert directives["object-src"] == "'none'"


def test_every_vendored_library_ships_with_its_licence(staged):
    _, root = staged
    vendor = root / "vendor"
    libraries = {p.name.split(".")[0] for p in vendor.iterdir()}  # ort/, pffft/, client-zip.js, ...
    assert {"ort", "pffft", "client-zip", "mediabunny"} <= libraries
    for library in sorted(libraries):
        notice = vendor / f"{library}.LICENSE.txt"
        assert notice.is_file(), f"vendor/{library} has no {notice.name}"
        text = notice.read_text()
        assert "Copyright" in text or "Mozilla Public License" in text, notice


def test_built_code_loads_nothing_remote_and_never_evals(staged):
    _, root = staged
    remote = re.compile(r"""https?://(?!www\.w3\.org/)[^\s'"`)]+""")
    for path in root.rglob("*"):
        if path.suffix not in {".js", ".mjs", ".html", ".css", ".json"}:
            continue
        text = path.read_text()
        if "vendor" in path.parts:
            # third-party: links in comments and strings are fine; loading code from them is not
            assert not re.search(r"""(importScripts|import)\(\s*['"]https?:""", text), path
            continue
        assert not remote.search(text), (path, remote.search(text))
        assert not re.search(r"\beval\(|new Function\(", text), path


def test_every_catalog_model_has_golden_parity_data():
    for name in catalog.names():
        entry = catalog.get(name)
        data = families.get(entry.spec.family).parity_data(entry)
        if not data:  # the yardstick runs live (HTDemucs: demucs's apply_model) in the model's own test
            assert (ROOT / "tests" / "parity" / f"test_{name}.py").is_file(), name
        for file in data:
            assert (ROOT / "tests" / "data" / file).is_file(), (name, file)


def test_unknown_model_error_lists_the_known_models():
    with pytest.raises(KeyError) as error:
        catalog.get("htdemucs-typo")
    assert "spleeter-2stems" in str(error.value)


# UVR's table of its MDX-Net files names the stem each gives (UVR's primary_stem): data about
# files made elsewhere, from which the import writes the descriptor that everything else reads.
STEM_NAMES_AS_DATA = {EXTENSION / "shared" / "uvr-models.js"}


def test_descriptor_drives_the_extension_not_hard_coded_stems():
    for path in set(OWN_JS) - STEM_NAMES_AS_DATA:
        assert not re.search(r"['\"](vocals|accompaniment|drums|bass)['\"]", path.read_text()), path
    spec = catalog.get(catalog.DEFAULT_MODEL).spec
    descriptor = families.get(spec.family).descriptor(spec, {})
    assert json.loads(json.dumps(descriptor))["stems"] == list(spec.stems)
