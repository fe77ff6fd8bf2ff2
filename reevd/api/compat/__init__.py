"""Upstream reev's HTTP API as its web UI uses it (../shared/docs/reev-api-contract.md), without its bugs."""
