"""Ingest: read a local export, map it onto a canonical table, pseudonymise, quarantine.

``ingest(path, kind)`` turns a CSV, XLSX or Parquet file of any size into one of the
canonical tables of ``analysis.schemas`` (cases, audit, ratings, the Ofsted Annex A lists)
and never loses a row:

* a whole-file problem (unreadable file, wrong sheet, missing required column, wrong
  encoding) raises ``InputError`` whose message names the file, what is wrong and the fix;
* a row-level problem sends the row to the quarantine with file, row number, column, value
  and rule; rows accepted + rows quarantined = rows read, always;
* identifiers are pseudonymised (keyed HMAC-SHA256, ``analysis.privacy``) and a date of
  birth becomes an age band before anything is written.

One engine serves every kind, format and size (``core``): the file is read (``read``) and
cut into Arrow record batches; each batch is parsed once per distinct value (``parse``),
pseudonymised (``pseudonyms``) and checked (``batch``: the value rules, the rules across
columns and the pandera contract, ``schemas.pandera_schema``); DuckDB (``analysis.engine``)
then finds copies of the unique key and sorts the accepted rows by it, out of core.

A column-mapping file (YAML, ``mapping``) turns a local export into the canonical table; the
shipped ``annex_a`` mapping copes with Ofsted Annex A lists 1-3 (header variants, Excel
serial dates, "b) Female" codes, "#N/A", stray spaces, leading zeros in ids).
"""

from __future__ import annotations

from .. import privacy
from .batch import _EMPTY_DTYPE, QUARANTINE_COLUMNS, canonical_schema
from .common import (
                     ANSWER_NA_TOKENS,
                     ENUM_PREFIX,
                     EXCEL_EPOCH,
                     MAX_COLUMNS,
                     NA_TOKENS,
                     OLE2_SIGNATURE,
                     PARQUET_SUFFIXES,
                     PSEUDONYM_KIND,
                     READ_SUFFIXES,
                     InputError,
                     _norm_header,
                     column_letter,
                     short,
                     short_list,
)
from .core import (
                     CONTRACT_MAX_ROWS,
                     DEFAULT_BATCH_ROWS,
                     IngestResult,
                     ingest,
                     read_table,
                     write_outputs,
)
from .mapping import (
                     HEADERS,
                     LETTERS,
                     SOURCES,
                     Mapping,
                     _duplicate_columns,
                     _headers,
                     _lookup,
                     _rename,
                     builtin_mappings,
                     load_mapping,
)
from .parse import (
                     DATE_RULE,
                     _parse_bool,
                     _parse_code,
                     _parse_date,
                     _parse_int,
                     _to_text,
                     date_rules,
)
from .read import (
                     CELL_PROBLEMS,
                     FIELD_PROBLEMS,
                     NESTED,
                     _check_width,
                     check_file,
                     nested_columns,
                     nested_message,
                     open_parquet,
                     open_workbook,
                     read_raw,
                     sniff_encoding,
)

__all__ = ["ANSWER_NA_TOKENS", "CELL_PROBLEMS", "CONTRACT_MAX_ROWS", "DATE_RULE",
           "DEFAULT_BATCH_ROWS", "ENUM_PREFIX", "EXCEL_EPOCH", "FIELD_PROBLEMS", "HEADERS",
           "LETTERS", "MAX_COLUMNS", "NA_TOKENS", "NESTED", "OLE2_SIGNATURE",
           "PARQUET_SUFFIXES", "PSEUDONYM_KIND", "QUARANTINE_COLUMNS", "READ_SUFFIXES",
           "SOURCES", "IngestResult", "InputError", "Mapping", "_EMPTY_DTYPE",
           "_check_width", "_duplicate_columns", "_headers", "_lookup", "_norm_header",
           "_parse_bool", "_parse_code", "_parse_date", "_parse_int", "_rename", "_to_text",
           "builtin_mappings", "canonical_schema", "check_file", "column_letter",
           "date_rules", "ingest", "load_mapping", "nested_columns", "nested_message",
           "open_parquet", "open_workbook", "privacy", "read_raw", "read_table", "short",
           "short_list", "sniff_encoding", "write_outputs"]
