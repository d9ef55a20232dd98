"""HTTP: request and response handling between app.py and the service layer (routes, errors,
middleware, edge headers, OpenAPI)."""
