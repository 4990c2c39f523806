"""Temporal workflows: deterministic, no I/O; they import only the pure ``crm`` package."""
