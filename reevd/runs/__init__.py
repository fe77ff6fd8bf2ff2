"""Runs: launcher.py spawns and reacts to runner processes, recovery.py rebuilds them after a
restart, run_log.py keeps each run's output log bounded, process.py asks the kernel about pids."""

from reevd.runs.launcher import Launcher

__all__ = ["Launcher"]
