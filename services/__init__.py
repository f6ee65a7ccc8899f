"""The rules of DOMAIN.md, framework-free. Services take an AsyncSession and a clock and raise
DomainError with stable codes; they never import the GraphQL layers."""
