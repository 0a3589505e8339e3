"""One module per feature: resolve the caller, check permission, call domain + db, map results
for the schema layer. Resolvers raise domain.errors.DomainError for problems the caller can fix
and AccessDenied for missing sign-in or permission; schema/ turns both into the contract's
shapes."""
