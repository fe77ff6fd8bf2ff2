"""reev-runner: runs reev benchmarks against an embedded Solana VM and writes session + OTEL files."""

__version__ = "0.1.0"
