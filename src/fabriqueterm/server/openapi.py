"""Print the commons API's OpenAPI schema, as checked into the repository:

python -m fabriqueterm.server.openapi > openapi.json
"""

from __future__ import annotations

import sys


def schema_text() -> str:
    """The schema of the app, independent of any database (an in-memory SQLite one is used)."""
    from fabriqueterm.server.app import create_app, openapi_document

    app = create_app("sqlite://")
    try:
        return openapi_document(app)
    finally:
        app.state.engine.dispose()


if __name__ == "__main__":
    sys.stdout.write(schema_text())
