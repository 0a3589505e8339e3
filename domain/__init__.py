"""Pure rules of the service: no I/O, no framework. Everything here is unit-testable in isolation.

Dependency direction (enforced by tests/unit/test_layering.py): domain imports only the standard
library and small pure helpers (bcrypt, PyJWT, email-validator); never strawberry, starlette,
sqlmodel/sqlalchemy, redis, arq, openai or chromadb.
"""
