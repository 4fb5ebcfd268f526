"""``python -m dedup.cli``."""

from dedup.cli import program

program()
