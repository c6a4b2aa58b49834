"""``distillsr zoo``: the model table (the built-in model first, then the zoo), never downloading anything."""

from __future__ import annotations

import argparse

from distillsr.commands.common import positive_int


def run(args: argparse.Namespace) -> int:
    from distillsr.commands.zoo_table import format_zoo_table

    print(format_zoo_table(scale=args.scale, macs=not args.no_macs, names=args.models or None))
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    zo = commands.add_parser(
        "zoo", help="list the models with scales, params, MACs, published scores and whether official weights are cached",
    )
    zo.add_argument("models", nargs="*", help="only these models: builtin or zoo names (default: all, builtin first)")
    zo.add_argument("--scale", "-s", type=positive_int, default=4, help="scale of the params/MACs columns")
    zo.add_argument("--no-macs", action="store_true", help="skip the MACs column (faster)")
    zo.set_defaults(handler=run)
