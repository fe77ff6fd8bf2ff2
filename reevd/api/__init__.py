"""HTTP API: routes.py is the one routing table; one module per resource."""
