"""Seed data (question bank, credential catalog, forms) and its idempotent loader."""
