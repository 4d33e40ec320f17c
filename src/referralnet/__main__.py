"""``python -m referralnet`` runs the CLI."""

import sys

from referralnet.cli import main

sys.exit(main())
