"""The aiohttp server, the coach websocket hub, ingest endpoints and the page."""
