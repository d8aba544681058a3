"""fabriqueterm: the local-first terminal app of the fabriques' coordinators."""

__version__ = "0.1.0"
