"""Reports: the weekly summary and its exporters, the learner CSV import, a learner's personal data.

Nothing here imports Textual: the command line (:mod:`fabriqueterm.reports.cli`) and the app's
screens both call these functions.
"""
