"""The demo: a deterministic, realistic coordinator's data built from the word lists of
``fixtures/demo`` and a seed, its own commons server on 127.0.0.1, and a simulated colleague.

Same seed, same ``today`` and same size give the same rows, byte for byte: the only source of
randomness is one ``random.Random(seed)``; ids are UUIDv7 made from synthetic timestamps (derived
from the data's own dates) and seeded bytes; nothing reads the wall clock.

The data stands for rows already synced from the commons: every row has a server ``version`` and
no outbox entry is written.

Rooms: :mod:`.network` (:func:`generate`, :func:`write`) puts together the generator's parts,
:mod:`.base` (shared state and primitives), :mod:`.sites` (sites and partners), :mod:`.cohorts`,
:mod:`.learners`, :mod:`.follow_ups`, :mod:`.placements`, from the word lists of :mod:`.words`;
:mod:`.commons` builds the demo's commons and the app's data by a first sync, and runs the demo
(``fabriqueterm demo``); :mod:`.colleague` is the simulated colleague; :mod:`.load` loads the demo
network into a commons (``fabriqueterm server admin load-demo``). The package may start a commons
(it imports the server); the server never imports it. Importing the package itself loads only
the generator, so the app's tests and the benchmarks use it without the server stack.
"""

from fabriqueterm.demo.base import Row, ascii_slug
from fabriqueterm.demo.network import DemoData, generate, site_count, write
from fabriqueterm.demo.words import WordLists, load_word_lists

__all__ = [
    "DemoData",
    "Row",
    "WordLists",
    "ascii_slug",
    "generate",
    "load_word_lists",
    "site_count",
    "write",
]
