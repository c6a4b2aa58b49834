"""The ``distillsr`` command.

Each subcommand lives in :mod:`distillsr.commands` and is listed explicitly below. User errors
(:class:`~distillsr.errors.DistillsrError`) become one line on stderr and exit code 1, never a
traceback; heavy modules are imported inside the handler that needs them so ``--help`` is fast.
"""

from __future__ import annotations

import argparse
import sys
from typing import Callable, Sequence

from distillsr.commands import (
    convert,
    data,
    evaluate,
    export,
    profile,
    train,
    upscale,
    zoo,
)
from distillsr.commands.common import parse_input_shape  # noqa: F401  (public helper)
from distillsr.errors import DistillsrError

EXIT_USER_ERROR = 1
EXIT_INTERRUPTED = 130

COMMANDS = (evaluate, profile, zoo, convert, data, upscale, export, train)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="distillsr", description="Lightweight single-image super-resolution.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.register(commands)
    return parser


def _run(handler: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    try:
        return handler(args)
    except DistillsrError as error:
        print(f"distillsr: error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    except MemoryError:
        print("distillsr: error: out of memory; use smaller images or another device", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("distillsr: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except RuntimeError as error:
        if "out of memory" in str(error).lower():
            print(f"distillsr: error: out of memory ({str(error).splitlines()[0]})", file=sys.stderr)
            return EXIT_USER_ERROR
        raise


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return _run(args.handler, args)


if __name__ == "__main__":
    sys.exit(main())
