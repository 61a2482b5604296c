"""The web interface: server-rendered pages with htmx (docs/web.md)."""
