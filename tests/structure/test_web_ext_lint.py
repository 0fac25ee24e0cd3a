"""`web-ext lint` on the Firefox build: no errors, no warnings, no notices.

onnxruntime-web is vendored as its bundle (ort.wasm.bundle.min.mjs), which embeds its WebAssembly
glue instead of importing it from a computed path (the UNSAFE_VAR_ASSIGNMENT warning of the
unbundled build); the one dead computed import left in it is refused at packaging (builder/package.py).
So is the WebGPU bundle's (ort.webgpu.bundle.min.mjs), and its one `new Function` (DANGEROUS_EVAL),
which the extension's CSP refuses anyway.
"""

from __future__ import annotations

import json
import subprocess

from builder.package import render_manifest, stage
from tests.conftest import ROOT


def test_firefox_build_passes_web_ext_lint(tmp_path):
    stage("firefox", tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps(render_manifest("firefox", ["vocals", "accompaniment"])))
    (tmp_path / "models").mkdir()
    web_ext = ROOT / "node_modules" / ".bin" / "web-ext"
    cmd = [str(web_ext), "lint", "--source-dir", str(tmp_path), "--output", "json", "--no-config-discovery"]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=300)
    report = json.loads(result.stdout)
    assert report["errors"] == [], report["errors"]
    assert report["warnings"] == [], report["warnings"]
    assert report["notices"] == [], report["notices"]
