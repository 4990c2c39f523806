"""Clients for everything outside the process: Temporal, PostgreSQL, the platform."""
