"""Sync with the commons: the protocol's payloads (shared with the server), and later the client.

Nothing here imports FastAPI or Textual.
"""
