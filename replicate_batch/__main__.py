"""`python -m replicate_batch SPEC`."""

import sys

from .cli import main

sys.exit(main())
