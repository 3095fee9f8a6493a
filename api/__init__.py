"""The versioned REST API (/api/v1, FastAPI, OpenAPI at /api/openapi.json): see api/app.py."""
