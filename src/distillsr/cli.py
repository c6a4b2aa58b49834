"""The ``distillsr`` command.

Each subcommand lives in :mod:`distillsr.commands` and is listed explicitly below. User errors
(:class:`~distillsr.errors.DistillsrError`) and failed reads or writes (``OSError``) become one
line on stderr and exit code 1, never a traceback. Nothing heavy is imported before a handler
runs: ``distillsr --help`` and ``distillsr CMD --help`` load neither torch nor NumPy (a test
keeps it so).
"""

from __future__ import annotations

import argparse
import sys
from typing import Callable, Sequence

from distillsr import console
from distillsr.commands import (
    bench,
    calibrate,
    convert,
    data,
    evaluate,
    export,
    profile,
    prune,
    train,
    upscale,
    zoo,
)
from distillsr.writable import describe_os_error
from distillsr.errors import DistillsrError
from distillsr.version import package_version

EXIT_USER_ERROR = 1
EXIT_INTERRUPTED = 130

COMMANDS = (evaluate, profile, zoo, convert, data, upscale, export, train, prune, bench, calibrate)


class _VersionAction(argparse.Action):
    """``--version`` that reads the metadata only when asked (argparse's own formats it eagerly)."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help="show the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *args: object, **kwargs: object) -> None:
        print(f"distillsr {package_version()}")  # stdout, as argparse's own version action does
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="distillsr", description="Lightweight single-image super-resolution.")
    parser.add_argument("--version", action=_VersionAction)
    talk = parser.add_mutually_exclusive_group()
    talk.add_argument("-q", "--quiet", dest="console_quiet", action="store_true",
                      help="show errors only (before the command: distillsr -q upscale ...)")
    talk.add_argument("-v", "--verbose", dest="console_verbose", action="store_true",
                      help="also show debug detail (before the command)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.register(commands)
    return parser


def _run(handler: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    log = console.get_logger()
    try:
        return handler(args)
    except DistillsrError as error:
        log.critical(str(error))
        return EXIT_USER_ERROR
    except MemoryError:
        log.critical("out of memory; use smaller images or another device")
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        log.critical("interrupted")
        return EXIT_INTERRUPTED
    except OSError as error:  # a read or write the command did not word itself: still one line
        log.critical(describe_os_error(error))
        return EXIT_USER_ERROR
    except RuntimeError as error:
        if "out of memory" in str(error).lower():
            log.critical(f"out of memory ({str(error).splitlines()[0]})")
            return EXIT_USER_ERROR
        raise


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    verbosity = console.QUIET if args.console_quiet else console.VERBOSE if args.console_verbose else console.NORMAL
    with console.configured(verbosity):
        return _run(args.handler, args)


if __name__ == "__main__":
    sys.exit(main())
