"""For researchers and staff: tuning, explain, labelled pairs, the sample generator, metrics, plots."""
