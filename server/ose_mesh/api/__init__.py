"""Transports: GraphQL, the REST compatibility routes and the web pages."""
