"""One module per ``distillsr`` subcommand: ``register(subparsers)`` adds its parser and handler."""
