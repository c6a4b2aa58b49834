"""``python -m distillsr`` runs the command-line interface."""

import sys

from distillsr.cli import main

sys.exit(main())
