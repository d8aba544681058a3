"""The reference commons server (FastAPI). Never imported by the TUI."""
