"""``demixer``: build models and separate songs. The only module that parses argv, prints, exits.

Imports nothing that loads torch at start-up (tested): only ``build`` needs it, and imports it then.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from builder.audio_io import AudioError, SampleFormat
from builder.bundle import CHECK_S, CHECK_S_PER_MB, BundleError, write_bundle
from builder.config import BUILD_PRECISIONS, BuildConfig, Paths
from builder.demix import DemixOptions, ModelNotBuiltError, UnsupportedModelError, separate_file
from builder.package import PackageError
from builder.separate import Progress
from builder.tf_checkpoint import CheckpointError
from builder.validate import ValidationError
from builder.weights import WeightsError
from models import catalog
from models.catalog import DEFAULT_MODEL, CheckpointFormatError, UnknownModelError
from models.spec import DEFAULT_PRECISION, MaskExtension, Precision

DESCRIPTION = "Build the separation models and the browser extensions; separate songs into stems natively."


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="demixer", description=DESCRIPTION)
    commands = parser.add_subparsers(dest="command", required=True)

    build = commands.add_parser("build", help="export, quantize and validate a model into dist/")
    build.add_argument("--model", default=DEFAULT_MODEL, help="catalog name (see: demixer models)")
    build.add_argument("--checkpoint", type=Path, help="checkpoint to convert (default: the published one)")
    build.add_argument("--precision", action="append", choices=[p.value for p in Precision],
                       help=f"repeatable; default: {' and '.join(p.value for p in BUILD_PRECISIONS)}")  # fmt: skip
    build.add_argument("--dist", type=Path, default=Paths().dist)

    sep = commands.add_parser("separate", help="separate a song into one WAV per stem")
    sep.add_argument("song", type=Path)
    sep.add_argument("-o", "--out", type=Path, default=Path("stems"))
    sep.add_argument("--model", default=DEFAULT_MODEL)
    sep.add_argument("--bundle", type=Path, help="a model bundle (.demixer) instead of --model/--precision; "
                     "checked as the extension checks an imported one")  # fmt: skip
    sep.add_argument("--precision", default=DEFAULT_PRECISION.value,
                     choices=[p.value for p in Precision])  # fmt: skip
    sep.add_argument("--high-band", choices=[m.value for m in MaskExtension],
                     help="above the model's ~11 kHz: 'zeros' drops it (Spleeter's choice), "
                          "'average' keeps it, shared by the stems' average mask")  # fmt: skip
    sep.add_argument("--format", default=SampleFormat.PCM16.value, choices=[f.value for f in SampleFormat])
    sep.add_argument("--threads", type=int, default=0, help="onnxruntime threads (0: all cores)")
    sep.add_argument("--check-s", type=float, default=CHECK_S,
                     help=f"--bundle: its model's check is stopped after this many seconds plus {CHECK_S_PER_MB:g} "
                          f"per MB of model (default {CHECK_S:g})")  # fmt: skip
    sep.add_argument("--dist", type=Path, default=Paths().dist)

    pack = commands.add_parser("package", help="assemble the Chrome and Firefox extensions in dist/")
    pack.add_argument("--model", default=DEFAULT_MODEL)
    pack.add_argument("--precision", default=DEFAULT_PRECISION.value,
                      choices=[p.value for p in Precision])  # fmt: skip
    pack.add_argument("--dist", type=Path, default=Paths().dist)

    bun = commands.add_parser("bundle", help="write a built model's bundle (.demixer), for the extension's import")
    bun.add_argument("--model", default=DEFAULT_MODEL)
    bun.add_argument("--precision", default=DEFAULT_PRECISION.value, choices=[p.value for p in Precision])
    bun.add_argument("--dist", type=Path, default=Paths().dist)

    commands.add_parser("models", help="list the models the builder knows")
    return parser


def _progress_printer(started: float):
    def show(progress: Progress) -> None:
        done = progress.done_samples / max(progress.total_samples, 1)
        elapsed = time.monotonic() - started
        left = elapsed / done - elapsed if done > 0 else 0.0
        print(f"\rseparating: {100 * done:5.1f}%  ({left:4.0f} s left)", end="", file=sys.stderr, flush=True)

    return show


def _run(args: argparse.Namespace) -> int:
    if args.command == "models":
        for name in catalog.names():
            print(f"{name}: {', '.join(catalog.get(name).spec.stems)}")
        return 0
    if args.command == "build":
        precisions = tuple(Precision(p) for p in args.precision) if args.precision else BUILD_PRECISIONS
        config = BuildConfig(args.model, args.checkpoint, precisions, Paths(dist=args.dist))
        from builder.build import build_model  # torch import only for the build

        build_model(config, log=print)
        return 0
    if args.command == "bundle":
        print(write_bundle(Paths(dist=args.dist).models, args.model, Precision(args.precision)))
        return 0
    if args.command == "package":
        from builder.package import PackageConfig, package

        package(PackageConfig(args.model, Precision(args.precision), args.dist), log=print)
        return 0
    options = DemixOptions(
        model=args.model,
        precision=Precision(args.precision),
        mask_extension=MaskExtension(args.high_band) if args.high_band else None,
        sample_format=SampleFormat(args.format),
        threads=args.threads,
        bundle=args.bundle,
        check_s=args.check_s,
    )
    started = time.monotonic()
    separation = separate_file(args.song, args.out, Paths(dist=args.dist).models, options,
                          _progress_printer(started))  # fmt: skip
    print(file=sys.stderr)
    if separation.replaced:
        print(f"demixer: warning: {separation.replaced}", file=sys.stderr)
    for path in separation.paths:
        print(path)
    print(f"done in {time.monotonic() - started:.1f} s", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except (AudioError, ModelNotBuiltError, UnknownModelError, WeightsError, CheckpointError,
            ValidationError, PackageError, UnsupportedModelError, CheckpointFormatError,
            BundleError) as error:  # fmt: skip
        print(f"\ndemixer: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ndemixer: interrupted; no partial stems were kept", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
