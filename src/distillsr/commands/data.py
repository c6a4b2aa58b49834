"""``distillsr data``: the dataset catalogue, downloads, and sub-image extraction."""

from __future__ import annotations

import argparse
import sys

from distillsr.commands.common import non_negative_int, positive_int


def _run_list(args: argparse.Namespace) -> int:
    from distillsr.data.catalogue import CATALOGUE, format_catalogue, format_size

    print(format_catalogue())
    if args.verbose:
        for entry in CATALOGUE:
            print(f"\n{entry.name}: {entry.description}")
            for remote in entry.files:
                checksum = remote.sha256 or remote.md5 or "unknown"
                print(f"  {remote.url}  {format_size(remote.size)}  {remote.checksum} {checksum}")
            print(f"  layout: {entry.layout}")
            print(f"  license: {entry.license}")
            print(f"  cite: {entry.citation}")
            if entry.checksum_source:
                print(f"  checksums from: {entry.checksum_source}")
    return 0


class _ProgressLine:
    """A percentage on one rewritten stderr line, only when stderr is a terminal."""

    def __init__(self) -> None:
        self.last = -1

    def __call__(self, done: int, total: int | None) -> None:
        if not sys.stderr.isatty():
            return
        if total:
            percent = int(100 * done / total)
            if percent != self.last:
                self.last = percent
                print(f"\r  {percent:3d}%", end="", file=sys.stderr, flush=True)
                if percent == 100:
                    print(file=sys.stderr)
        else:
            print(f"\r  {done >> 20} MiB", end="", file=sys.stderr, flush=True)


def _run_download(args: argparse.Namespace) -> int:
    from distillsr.data.catalogue import get_entry
    from distillsr.data.download import download

    from distillsr.writable import check_output_folder

    entries = [get_entry(name) for name in args.names]  # every name checked before any download
    check_output_folder(args.to, "download folder")
    for entry in entries:
        download(
            entry,
            args.to,
            resume=not args.no_resume,
            verify=not args.no_verify,
            extract=not args.no_extract,
            progress=_ProgressLine(),
        )
        print(f"{entry.name}: done ({entry.layout})")
    return 0


def _run_extract(args: argparse.Namespace) -> int:
    from distillsr.data.subimages import extract_subimages
    from distillsr.writable import check_output_folder

    check_output_folder(args.out_dir, "sub-image folder")

    summary = extract_subimages(
        args.hr_dir,
        args.out_dir,
        crop=args.crop,
        step=args.step,
        thresh=args.thresh,
        strip_scale=args.strip_scale,
        workers=args.workers,
    )
    print(
        f"{summary.images} image(s) -> {summary.written} sub-image(s) written, "
        f"{summary.existing} already there, in {args.out_dir}"
    )
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    da = commands.add_parser("data", help="list, download and prepare training and benchmark datasets")
    actions = da.add_subparsers(dest="data_command", metavar="ACTION", required=True)

    ls = actions.add_parser("list", help="the dataset catalogue: names, sizes, checksums")
    ls.add_argument("--verbose", "-v", action="store_true", help="URLs, checksums, layouts, licenses and citations")
    ls.set_defaults(handler=_run_list)

    dl = actions.add_parser("download", help="download (resumable), verify and extract catalogue datasets")
    dl.add_argument("names", nargs="+", metavar="NAME", help="catalogue name(s), see `distillsr data list`")
    dl.add_argument("--to", required=True, help="folder to download and extract into")
    dl.add_argument("--no-extract", action="store_true", help="keep the archives packed")
    dl.add_argument("--no-verify", action="store_true", help="skip the size and checksum checks")
    dl.add_argument("--no-resume", action="store_true", help="discard a partial download and start again")
    dl.set_defaults(handler=_run_download)

    ex = actions.add_parser("extract-subimages", help="crop large images into overlapping sub-images (BasicSR style)")
    ex.add_argument("hr_dir", metavar="HR_DIR", help="folder of images to crop")
    ex.add_argument("out_dir", metavar="OUT_DIR", help="folder for the sub-images (PNG)")
    ex.add_argument("--crop", type=positive_int, default=480, help="sub-image size (default 480; 120 for x4 LR)")
    ex.add_argument("--step", type=positive_int, default=240, help="stride between sub-images (default 240; 60 for x4 LR)")
    ex.add_argument("--thresh", type=non_negative_int, default=0, help="edge remainder above which a last, edge-aligned crop is added")
    ex.add_argument("--strip-scale", type=positive_int, metavar="S", help="drop an 'xS' suffix from names (LR folders) so tiles pair with HR tiles")
    ex.add_argument("--workers", type=positive_int, default=1, help="processes to use")
    ex.set_defaults(handler=_run_extract)
