"""The HTTP edge: everything between a request and the schema, one step per module.

app.py only assembles these (routes, middleware, lifespan). Nothing below (schema, resolvers,
services, models, core) imports this package; the import-linter contract checks it."""
