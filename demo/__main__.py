"""`python -m demo`: run the loop demo (loop.main)."""

from __future__ import annotations

import sys

from .loop import main

sys.exit(main())
