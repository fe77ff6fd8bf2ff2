"""Ingestion: files in logs/sessions -> committed rows.

scheduler.py decides when (dirty set, one task per file, retries); sessions.py and otel.py
decide what a file's bytes become; parse.py is the pure parsing; tail.py the pure line
arithmetic; files.py opens files safely.
"""

from reevd.ingest.scheduler import Ingestor

__all__ = ["Ingestor"]
