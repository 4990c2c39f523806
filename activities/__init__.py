"""Temporal activities: the only code that does I/O, each a thin call into an adapter."""
