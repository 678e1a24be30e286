"""``python -m analysis`` runs the ``sqa`` command."""

import sys

from .cli import main

sys.exit(main())
