"""The trust API: e-license issuance and verification over HTTP (FastAPI)."""
