"""Queries, one module per aggregate. Functions take a session, flush when they write, and never
commit: the caller's unit of work owns the transaction."""
