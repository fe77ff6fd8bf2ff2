"""Fork mode: mainnet accounts loaded over JSON-RPC into the embedded VM, recorded into snapshots.

- rpc.py: a small JSON-RPC client (getMultipleAccounts, batched, retried, bounded).
- accounts.py: one fetched account, as stored in a snapshot.
- snapshot.py: the snapshot file format (gzip'd JSON), read and write.
- sources.py: where accounts and HTTP answers come from (live RPC, recording, snapshot replay).
- loader.py: writes fetched accounts into LiteSVM (plain, upgradeable programs, lookup tables).
- availability.py: can a benchmark run here and why not (import-light, for the daemon's catalog).
"""
