"""Pure text and matching steps: normalise, segment, places, shingles and signatures, candidates,
verification, clustering, topic summaries, the pair scorer. No module here reads a file of runs,
writes the database or starts a process."""
