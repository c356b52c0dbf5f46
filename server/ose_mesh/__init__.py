"""OSE Service Mesh: live service health, dependencies and events in one server."""

__version__ = "0.1.0"
