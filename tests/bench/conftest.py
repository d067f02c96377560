"""The benchmark's own modules import each other by name, as `python bench/containers.py` runs."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
