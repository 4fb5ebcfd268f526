"""The ``dedup`` command: a thin layer over the library.

Exit status (the README's table): 0 success; 2 bad usage or configuration; 3 an
input file cannot be read (nothing stored); 4 the database is locked, damaged or
cannot be written; 5 the department model is unusable; 6 over the memory budget;
7 the run is stored but its files could not be written.
"""

from dedup.cli import dispatch, look, operate, research, review  # noqa: F401 (each adds its commands to the group)
from dedup.cli.base import (  # noqa: F401 (the package's interface)
    EXIT_BUDGET,
    EXIT_DATABASE,
    EXIT_INPUT,
    EXIT_MODEL,
    EXIT_OUTPUT,
    EXIT_SOFTWARE,
    EXIT_USAGE,
    DedupError,
    main,
    program,
)
