"""dedup: turn a night's flood of citizen suggestions into distinct topics, each routed to a unit."""

__version__ = "0.1.0"
