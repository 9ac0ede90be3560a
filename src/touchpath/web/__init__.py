"""The HTTP layer: FastAPI app over the Python API (collector and dashboard come next)."""
