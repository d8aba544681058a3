"""The domain: models, enumerations, validation and indicators. Pure Python: no Textual, no httpx."""
