"""Adapters: the outside world (database, probes) behind the core's ports."""
