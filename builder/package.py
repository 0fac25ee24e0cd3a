"""Assemble the installable extensions in dist/ (manifests via jinja2, vendored runtime, model).

dist/chrome/ (unpacked) + dist/demixer-<version>-chrome.zip; dist/firefox/ (unpacked) +
dist/demixer-<version>-firefox.xpi when web-ext is available. Browser differences are whole
files under extension/platform/<browser>/ (copied to platform/ in the build) and the manifest
template; nothing else differs.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path

import jinja2

from builder.config import ROOT
from models import catalog
from models.spec import DEFAULT_PRECISION, Precision

BROWSERS = ("chrome", "firefox")
VERSION = "0.1.0"
GECKO_ID = "demixer@demixer.invalid"
# The unpacked Chrome build carries this public key so its extension id is stable
# (CHROME_ID, which tests and documentation use); the Web Store zip leaves it out, since the
# store assigns its own. Only the public half exists: unpacked loading needs nothing else.
CHROME_KEY = (
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAvPQ6+LG//HG6J7k+o55XRtDBPUkgz06yefnWf8Fu69GC/bJo7ueSr"
    "vwRLGUebQAP/b9NW84YJI4d3gGSZirHqI6LBMoT3y7Guj6fpw+6n6SnxJupGS3QTiWS1gZ9u9P4atpuBK1yz/v8SbIcFnSj"
    "wtV0s87CnM+FN249AfG9mZp97Citf6LhwRrsCvcd7TvcHU+hu32QHn6be3Fk7IQvPhU+yi4aDIdxu9zbBXxYRqF9MCz2zu8d"
    "rZqcJq8sXSHLyUVruQ77Jj6eYV+qsqMpd4YberqV/y03ELaOXv6I7myCu69x9AMaELQVVsCUUB4UiNLIMhaEDS0WWGKXkZPkgwIDAQAB"
)
CHROME_ID = "obhpkpcmcbnmkhdmkcelanclmkebpabd"
# Firefox 142: the first (desktop 140, Android 142) that knows `data_collection_permissions`,
# which AMO requires of new add-ons; MV3 module background scripts need less. Debian ESR: 153.
GECKO_MIN_VERSION = "142.0"
EXTENSION_SRC = ROOT / "extension"
NODE_MODULES = ROOT / "node_modules"
# Vendored files: (source under node_modules, destination under vendor/).
# Each bundle embeds its WebAssembly glue: no computed `import()` of it at run time, so `web-ext
# lint` has nothing to warn about. The WASM bundle and its plain build run every CPU job; the
# WebGPU bundle runs on the asyncify build (1.30: its WebGPU provider is the native one compiled
# to WASM, which waits on the GPU through asyncify, not the older JSEP), 6.7 MB more in the zip,
# and is imported only when a job runs on the GPU (inference/model-runner.js).
ORT_BUNDLES = {
    "ort.wasm.bundle.min.mjs": "ort-wasm-simd-threaded.wasm",
    "ort.webgpu.bundle.min.mjs": "ort-wasm-simd-threaded.asyncify.wasm",
}
ORT_FILES = tuple(name for pair in ORT_BUNDLES.items() for name in pair)
# Each bundle keeps one dead path that imports a glue file from a computed URL (taken only when
# env.wasm.wasmPaths names a glue .mjs or a folder; model-runner.js names only the .wasm). It is
# the one thing `web-ext lint` flags (UNSAFE_VAR_ASSIGNMENT): replaced by an error at packaging.
ORT_GLUE_IMPORT = re.compile(r"\(await import\(/\*webpackIgnore:true\*/ /\*@vite-ignore\*/(\w+)\)\)\.default")
ORT_GLUE_REFUSED = (
    '(()=>{throw new Error("onnxruntime-web: external glue "+\\1+" refused; the bundled glue is used")})()'
)
# The WebGPU bundle's Emscripten glue (embind's emval method caller) builds a function with
# `new Function`: `web-ext lint` flags it (DANGEROUS_EVAL), and the extension's CSP (no
# 'unsafe-eval') already makes it throw, so it is replaced by that error; the WebGPU path does not
# take it (the parity test runs the model on WebGPU with it refused).
ORT_EVAL = re.compile(r"new Function\(Object\.keys\((\w+)\),(\w+)\)\(\.\.\.Object\.values\(\1\)\)")
ORT_EVAL_REFUSED = '(()=>{throw new Error("onnxruntime-web: eval refused by the extension\'s CSP")})()'


class PackageError(RuntimeError):
    pass


@dataclass(frozen=True)
class PackageConfig:
    model: str = catalog.DEFAULT_MODEL
    precision: Precision = DEFAULT_PRECISION
    dist: Path = ROOT / "dist"
    browsers: tuple[str, ...] = BROWSERS


def render_manifest(browser: str, stems: list[str]) -> dict:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(EXTENSION_SRC), undefined=jinja2.StrictUndefined)
    text = env.get_template("manifest.json.j2").render(
        browser=browser,
        version=VERSION,
        stems=stems,
        gecko_id=GECKO_ID,
        gecko_min_version=GECKO_MIN_VERSION,
    )
    return json.loads(text)


def _vendor(target: Path) -> None:
    vendor = target / "vendor"
    (vendor / "ort").mkdir(parents=True, exist_ok=True)
    ort_dist = NODE_MODULES / "onnxruntime-web" / "dist"
    for name in ORT_FILES:
        if not (ort_dist / name).is_file():
            raise PackageError(f"{ort_dist / name} missing: run `npm ci` (make setup)")
        shutil.copy2(ort_dist / name, vendor / "ort" / name)
    for name in ORT_BUNDLES:
        bundle = vendor / "ort" / name
        text, count = ORT_GLUE_IMPORT.subn(ORT_GLUE_REFUSED, bundle.read_text(encoding="utf-8"))
        if count != 1:
            raise PackageError(f"{name}: its glue import changed; review ORT_GLUE_IMPORT in builder/package.py")
        text, evals = ORT_EVAL.subn(ORT_EVAL_REFUSED, text)
        if evals > 1 or "new Function" in text:
            raise PackageError(f"{name}: its eval changed; review ORT_EVAL in builder/package.py")
        bundle.write_text(text, encoding="utf-8")
    # PFFFT (BSD-3-Clause) built with WASM SIMD: the STFT's FFTs; Emscripten glue + .wasm, unmodified.
    (vendor / "pffft").mkdir(exist_ok=True)
    for name in ("pffft.js", "pffft.wasm"):
        shutil.copy2(NODE_MODULES / "@echogarden" / "pffft-wasm" / "dist" / "simd" / name, vendor / "pffft" / name)
    shutil.copy2(NODE_MODULES / "client-zip" / "index.js", vendor / "client-zip.js")
    # mediabunny (MPL-2.0): demuxing for streamed decode; its ES module bundle, unmodified.
    shutil.copy2(NODE_MODULES / "mediabunny" / "dist" / "bundles" / "mediabunny.min.mjs", vendor / "mediabunny.js")
    # LAME (LGPL) and libFLAC (BSD-3-Clause) compiled to WASM by @mediabunny/mp3-encoder and
    # @mediabunny/flac-encoder (MPL-2.0): each package inlines its encoder worker as a string and
    # starts it from a blob: URL, which the extension's CSP refuses (worker-src falls back to
    # 'self'). The worker's text is written out unmodified as its own file, which
    # shared/encode-audio.js starts; LAME thus ships as a separate, replaceable file.
    for package, worker in ENCODER_WORKERS.items():
        bundle = NODE_MODULES / "@mediabunny" / package / "dist" / "bundles" / f"mediabunny-{package}.mjs"
        (vendor / worker).write_text(inline_worker_text(bundle.read_text()))
    # fflate (MIT): reads imported model bundles (shared/bundle.js); its browser ES module, unmodified.
    shutil.copy2(NODE_MODULES / "fflate" / "esm" / "browser.js", vendor / "fflate.js")
    # waveform-data (LGPL-3.0, unmodified, as its own file): the mixer's waveform peaks.
    shutil.copy2(NODE_MODULES / "waveform-data" / "dist" / "waveform-data.esm.js", vendor / "waveform-data.js")
    # Signalsmith Stretch (MIT): the mixer's key and tempo (ui/stretch-node.js).
    _vendor_stretch(vendor)
    # Each library's licence travels with it (MIT and BSD ask for their notice in copies).
    for name, notice in _vendor_notices().items():
        shutil.copy2(notice, vendor / name)


def _vendor_notices() -> dict[str, Path]:
    """File name under vendor/ -> the licence text it is copied from."""
    # The onnxruntime-web npm package ships no licence file; the onnxruntime Python wheel (same
    # project, same MIT licence, and the notices of the code compiled into its WASM build) does.
    import onnxruntime

    ort_python = Path(onnxruntime.__file__).parent
    return {
        "ort.LICENSE.txt": ort_python / "LICENSE",
        "ort.ThirdPartyNotices.txt": ort_python / "ThirdPartyNotices.txt",
        "pffft.LICENSE.txt": NODE_MODULES / "@echogarden" / "pffft-wasm" / "COPYING",
        "client-zip.LICENSE.txt": NODE_MODULES / "client-zip" / "LICENSE.txt",
        "mediabunny.LICENSE.txt": NODE_MODULES / "mediabunny" / "LICENSE",
        "mp3-encoder.LICENSE.txt": NODE_MODULES / "@mediabunny" / "mp3-encoder" / "LICENSE",
        "mp3-encoder.LAME.LICENSE.txt": LICENCES / "LAME.LGPL-2.txt",
        "flac-encoder.LICENSE.txt": NODE_MODULES / "@mediabunny" / "flac-encoder" / "LICENSE",
        "flac-encoder.libFLAC.LICENSE.txt": LICENCES / "libFLAC.BSD-3-Clause.txt",
        "fflate.LICENSE.txt": NODE_MODULES / "fflate" / "LICENSE",
        "waveform-data.LICENSE.txt": NODE_MODULES / "waveform-data" / "LICENSE",
        # the npm package ships no licence file, only `"license": "MIT"` in its package.json
        "signalsmith-stretch.LICENSE.txt": LICENCES / "signalsmith-stretch.MIT.txt",
    }


# Signalsmith Stretch's web build is one file that is both the main thread's module and its
# AudioWorklet (it registers the processor when loaded in an AudioWorkletGlobalScope), and it
# embeds its WASM as a base64 data: URI; left alone it hands the worklet to `addModule` as a
# blob: URL, which the extension's CSP refuses (script-src 'self'). At packaging its WASM is
# written out as vendor/signalsmith-stretch.wasm and three edits let the file load it from there:
# the data: URI becomes a bare name (never fetched: an AudioWorkletGlobalScope has no fetch), the
# Emscripten glue takes `Module.wasmBinary`, and the processor passes it the bytes that
# ui/stretch-node.js fetches from the extension and hands over in `processorOptions`. ui/stretch-
# node.js points the library's `moduleUrl` at the vendored file, so no blob: URL is made.
STRETCH_MJS = NODE_MODULES / "signalsmith-stretch" / "SignalsmithStretch.mjs"
STRETCH_FILES = ("signalsmith-stretch.mjs", "signalsmith-stretch.wasm")
STRETCH_WASM_URI = re.compile(r'var f="data:application/octet-stream;base64,([A-Za-z0-9+/=]+)";return f')
STRETCH_EDITS = (
    ("var wasmBinary;", 'var wasmBinary=Module["wasmBinary"];'),
    (
        "Module().then(wasmModule => {",
        "Module({wasmBinary: options.processorOptions?.wasmBinary}).then(wasmModule => {",
    ),
)


def _vendor_stretch(vendor: Path) -> None:
    text = STRETCH_MJS.read_text(encoding="utf-8")
    found = STRETCH_WASM_URI.findall(text)
    if len(found) != 1:
        raise PackageError(f"{STRETCH_MJS}: its embedded WASM changed; review STRETCH_WASM_URI in builder/package.py")
    wasm = base64.b64decode(found[0])
    if not wasm.startswith(b"\0asm"):
        raise PackageError(f"{STRETCH_MJS}: its embedded data is not WebAssembly")
    text = STRETCH_WASM_URI.sub(f'var f="{STRETCH_FILES[1]}";return f', text)
    for old, new in STRETCH_EDITS:
        if text.count(old) != 1:
            raise PackageError(f"{STRETCH_MJS}: {old!r} changed; review STRETCH_EDITS in builder/package.py")
        text = text.replace(old, new)
    (vendor / STRETCH_FILES[0]).write_text(text, encoding="utf-8")
    (vendor / STRETCH_FILES[1]).write_bytes(wasm)


# npm package under @mediabunny/ -> its encoder worker's file under vendor/
ENCODER_WORKERS = {"mp3-encoder": "mp3-encoder.worker.js", "flac-encoder": "flac-encoder.worker.js"}
# Licence texts of code compiled into those workers, which their npm packages do not carry.
LICENCES = Path(__file__).parent / "licences"
_JS_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}


def inline_worker_text(bundle: str) -> str:
    """The worker script a mediabunny extension bundle passes as `inlineWorker('...')`, unescaped."""
    marker = "inlineWorker('"
    if bundle.count(marker) != 1:
        raise PackageError("an encoder bundle no longer inlines exactly one worker: update ENCODER_WORKERS")
    at = bundle.index(marker) + len(marker)
    out: list[str] = []
    while bundle[at] != "'":
        char = bundle[at]
        if char != "\\":
            out.append(char)
            at += 1
            continue
        kind = bundle[at + 1]
        if kind == "x":
            out.append(chr(int(bundle[at + 2 : at + 4], 16)))
            at += 4
        elif kind == "u" and bundle[at + 2] == "{":
            end = bundle.index("}", at)
            out.append(chr(int(bundle[at + 3 : end], 16)))
            at = end + 1
        elif kind == "u":
            out.append(chr(int(bundle[at + 2 : at + 6], 16)))
            at += 6
        else:
            out.append("" if kind == "\n" else _JS_ESCAPES.get(kind, kind))
            at += 2
    return "".join(out)


def stage(browser: str, target: Path) -> None:
    """The extension's code for ``browser`` (no model) in ``target``: what tsc checks."""
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(EXTENSION_SRC, target, ignore=shutil.ignore_patterns("platform", "*.j2"))
    shutil.copytree(EXTENSION_SRC / "platform" / browser, target / "platform")
    _vendor(target)


def name_stems(target: Path, stems: list[str]) -> None:
    """The manifest's description names the model's stems: `__MSG_…__` takes no arguments, so each
    locale's `extensionDescription` gets them as its `$STEMS$` placeholder (stem names come from
    the model, the same in every language)."""
    for messages in sorted((target / "_locales").glob("*/messages.json")):
        table = json.loads(messages.read_text(encoding="utf-8"))
        table["extensionDescription"]["placeholders"]["stems"]["content"] = ", ".join(stems)
        messages.write_text(json.dumps(table, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


# Type declarations for the vendored modules, written beside them only in the staged trees that
# tsc checks (TypeScript resolves `x.mjs` to `x.d.mts`), so tsc never type-checks minified code.
_VENDOR_TYPES = {
    "ort/ort.wasm.bundle.min.d.mts": "export * from 'onnxruntime-web';\n",
    "ort/ort.webgpu.bundle.min.d.mts": "export * from 'onnxruntime-web/webgpu';\n",
    "client-zip.d.ts": "export * from 'client-zip';\n",
    "mediabunny.d.ts": "export * from 'mediabunny';\n",
    "fflate.d.ts": "export * from 'fflate';\n",
    "waveform-data.d.ts": "export { default } from 'waveform-data';\n",
    "pffft/pffft.d.ts": "export default function PFFFT(moduleArg?: object): Promise<any>;\n",
    "signalsmith-stretch.d.mts": (
        "export interface StretchNode extends AudioWorkletNode {\n"
        "  inputTime: number;\n"
        "  schedule(change: object): Promise<object>;\n"
        "  start(when?: number | object): Promise<object>;\n"
        "  stop(when?: number): Promise<object>;\n"
        "  addBuffers(channels: Float32Array[], transfer?: Transferable[]): Promise<number>;\n"
        "  dropBuffers(toSeconds?: number): Promise<object>;\n"
        "  latency(): Promise<number>;\n"
        "  configure(config: {blockMs?: number, intervalMs?: number, splitComputation?: boolean}): Promise<void>;\n"
        "}\n"
        "declare function SignalsmithStretch(context: BaseAudioContext, options?: AudioWorkletNodeOptions):"
        " Promise<StretchNode>;\n"
        "declare namespace SignalsmithStretch { let moduleUrl: string | undefined; }\n"
        "export default SignalsmithStretch;\n"
    ),
}


def stage_for_types(root: Path = ROOT / ".stage") -> list[Path]:
    """Stage every browser's code with vendor type declarations, for `tsc -p jsconfig.json`."""
    staged = []
    for browser in BROWSERS:
        target = root / f"stage-{browser}"
        stage(browser, target)
        for name, text in _VENDOR_TYPES.items():
            (target / "vendor" / name).write_text(text)
        staged.append(target)
    return staged


def _model_files(dist: Path, model: str, precision: Precision) -> tuple[Path, dict]:
    descriptor_path = dist / "models" / f"{model}.json"
    if not descriptor_path.is_file():
        raise PackageError(f"{descriptor_path} missing: run `demixer build` first")
    descriptor = json.loads(descriptor_path.read_text())
    entry = descriptor.pop("files").get(precision.value)
    if entry is None:
        raise PackageError(f"no {precision.value} build of {model}: "
                           f"demixer build --precision {precision.value}")  # fmt: skip
    descriptor.update(file=entry["file"], precision=precision.value, sha256=entry["sha256"])
    return dist / "models" / entry["file"], descriptor


def package(config: PackageConfig, log=print) -> list[Path]:
    spec = catalog.get(config.model).spec
    model_path, descriptor = _model_files(config.dist, config.model, config.precision)
    outputs = []
    for browser in config.browsers:
        target = config.dist / browser
        stage(browser, target)
        name_stems(target, list(spec.stems))
        manifest = render_manifest(browser, list(spec.stems))
        (target / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        if browser == "chrome":
            store_manifest = json.dumps(manifest, indent=2) + "\n"
            (target / "manifest.json").write_text(json.dumps({**manifest, "key": CHROME_KEY}, indent=2) + "\n")
        (target / "models").mkdir()
        shutil.copy2(model_path, target / "models" / model_path.name)
        (target / "models" / "model.json").write_text(json.dumps(descriptor, indent=1) + "\n")
        archive = config.dist / f"demixer-{VERSION}-{browser}.{'zip' if browser == 'chrome' else 'xpi'}"
        if browser == "chrome":
            _zip(target, archive, {"manifest.json": store_manifest})
        else:
            _web_ext_build(target, archive)
        log(f"{browser}: {target} and {archive.name} ({archive.stat().st_size / 1e6:.1f} MB)")
        outputs.append(archive)
    return outputs


def _zip(folder: Path, archive: Path, replace: dict[str, str]) -> None:
    archive.unlink(missing_ok=True)
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as out:
        for path in sorted(folder.rglob("*")):
            name = path.relative_to(folder).as_posix()
            if name in replace:
                out.writestr(name, replace[name])
            elif path.is_file():
                out.write(path, name)


def _web_ext_build(folder: Path, archive: Path) -> None:
    web_ext = NODE_MODULES / ".bin" / "web-ext"
    if not web_ext.exists():
        raise PackageError("web-ext missing: run `npm ci` (make setup)")
    out_dir = archive.parent / ".web-ext"
    shutil.rmtree(out_dir, ignore_errors=True)
    cmd = [str(web_ext), "build", "--source-dir", str(folder), "--artifacts-dir", str(out_dir),
           "--overwrite-dest", "--no-config-discovery"]  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    built = list(out_dir.glob("*.zip"))
    if result.returncode != 0 or len(built) != 1:
        raise PackageError(f"web-ext build failed: {result.stderr.strip() or result.stdout.strip()}")
    built[0].replace(archive)
    shutil.rmtree(out_dir)
