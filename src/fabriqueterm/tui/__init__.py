"""The terminal app (Textual). Imported only by ``fabriqueterm`` commands that open it."""
