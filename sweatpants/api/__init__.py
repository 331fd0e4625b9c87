"""The REST + WebSocket API: app factory, guard, error rendering, routes."""
