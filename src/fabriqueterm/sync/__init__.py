"""Sync with the commons (docs/sync.md): the protocol's payloads (shared with the server), the HTTP
client, the engine that pushes and pulls, the error kinds, and the scheduler that says when the app
syncs by itself.

Nothing here imports FastAPI or Textual.
"""
