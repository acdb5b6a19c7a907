"""The alignment engine, one module per stage (moving here from ``dedup.repeats``, stage by stage)."""
