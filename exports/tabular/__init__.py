"""One helper per tabular job, shared by exports, coding and the invitations: read, write, save, percent.

| module | what |
| --- | --- |
| `errors.py` | `TableError`, the one error of a bad table file, and `place`: ``file:line, column X ('header')`` |
| `reading.py` | `open_table`: rows of a CSV/XLSX file or upload, each with its line; `cell_text`, `is_blank` |
| `text.py` | `looks_active` (the one rule), safe csv text (`csv_text`, `csv_unescape`), `xml_clean`, `fit_cell` |
| `csvwrite.py` | `CsvWriter`, the one CSV writer: every field quoted, text formula-safe, numbers as numbers |
| `cells.py` | formula-safe xlsx cells (`xlsx_text`, `xlsx_value`), `styled` cells, `sheet_title` |
| `saving.py` | `replacing`, `save_atomically`: write to a temporary file next to the target, then rename |
| `percent.py` | `percent` (half up to 0.1, exact) and `n_pct` ("n (x.x%)") |

The modules are imported one by one, not re-exported here: reading CSV and formatting percentages must not
load openpyxl (the app starts without it), while the writers need it.
"""
