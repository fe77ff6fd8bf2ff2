"""reevd: the event-driven daemon that launches reev runs and tracks them from their files."""

__version__ = "0.1.0"
