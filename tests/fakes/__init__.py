"""Local servers speaking real wire protocols (Solana JSON-RPC, Jupiter's HTTP API) for offline tests."""
