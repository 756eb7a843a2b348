"""The workflow definitions shipped with safeguard, as YAML data (one file per workflow)."""

from pathlib import Path

DEFINITIONS_DIR = Path(__file__).resolve().parent
