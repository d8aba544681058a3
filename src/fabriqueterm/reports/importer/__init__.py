"""Import learners into a cohort from a CSV file exported by a spreadsheet.

Real files come from partners' spreadsheets, so the reader is lenient about the form and strict
about the content:

- cells separated by ``;`` or ``,`` (or a tab), found from the header line;
- text in UTF-8 or UTF-16 (with or without a byte-order mark) or Windows-1252, found from the
  byte-order mark, then by trying UTF-8; a workbook, an archive, a PDF or an image is refused as
  "not a text/CSV file";
- nothing of the file shown raw: every piece of it in a message goes through :func:`visible`;
- column names in French or English ("Prénom" / "First name", "Courriel" / "E-mail"…), with a
  mapping the person can override (``{"Prénom usuel": "first_name", "Remarques": ""}``);
- values as people type them: "Femme" / "H", "oui" / "non", "bac+2", "25/11/26", "25 nov. 2026",
  a phone number whose leading 0 the spreadsheet dropped.

Every row is then validated by the domain (:func:`fabriqueterm.domain.validation.validate`); each
bad row is reported with its line number in the file, the field and the reason. Importing is in
two steps so a screen can show a preview: :func:`prepare_import` reads and checks everything and
writes nothing; :func:`apply_import` writes the checked rows in bulk through the learner repository
(:meth:`~fabriqueterm.store.repositories.LearnerRepository.create_many`), in one transaction, so
each row gets its outbox mutation and syncs.
"""

from fabriqueterm.reports.importer.checking import (
    normalise_date_text,
    prepare_import,
    resolve_cohort,
)
from fabriqueterm.reports.importer.plan import (
    Duplicate,
    ExtraCells,
    ImportFileError,
    ImportPlan,
    ImportResult,
    ImportRow,
    RowError,
)
from fabriqueterm.reports.importer.reading import (
    ENCODING_NAMES,
    IGNORE,
    REQUIRED,
    TARGET_LABELS,
    TARGETS,
    decode,
    map_columns,
    parse_mapping,
    read_rows,
    sniff_delimiter,
    target_label,
)
from fabriqueterm.reports.importer.showing import visible, visible_lines
from fabriqueterm.reports.importer.writing import apply_import

__all__ = [
    "ENCODING_NAMES",
    "IGNORE",
    "REQUIRED",
    "TARGETS",
    "TARGET_LABELS",
    "Duplicate",
    "ExtraCells",
    "ImportFileError",
    "ImportPlan",
    "ImportResult",
    "ImportRow",
    "RowError",
    "apply_import",
    "decode",
    "map_columns",
    "normalise_date_text",
    "parse_mapping",
    "prepare_import",
    "read_rows",
    "resolve_cohort",
    "sniff_delimiter",
    "target_label",
    "visible",
    "visible_lines",
]
