"""How work is executed: forked workers, shared memory, the serial path, array helpers."""
