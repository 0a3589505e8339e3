"""Strawberry types of the contract. Map from rows or domain objects with `from_row` /
`from_domain`; never hand table models to Strawberry."""
