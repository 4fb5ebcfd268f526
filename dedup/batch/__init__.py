"""Orchestration of a run, a night and a rebuild: what they plan, store and publish."""
