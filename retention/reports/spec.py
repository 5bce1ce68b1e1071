"""The data spec: which file every report of a batch reads, and how.

One spec applies to every report notebook of a batch: the file, the column mapping and the
file dialect. It comes from the command line (``--data PATH --customer COL --date COL
--amount COL [--order COL] [--sep S --decimal C --thousands C --encoding E --date-format F
--dayfirst --sheet NAME] [--drop-invalid]``), from the ``data`` section of a YAML config, or
from ``papermill -p`` on a single notebook, whose parameters cell declares the same names
(:data:`SPEC_PARAMETERS`). Only the fields that are given are passed on; the notebooks'
defaults cover the rest.

.. code-block:: yaml

    data:
      path: exports/orders.csv    # relative to the config file
      customer: client_id
      date: order_day
      amount: total
      sep: ";"
      decimal: ","

``path`` may also be a glob of Parquet/CSV files or a folder of Parquet files (read by
DuckDB), or an Ibis connection URL with ``table`` (``duckdb:///shop.db``,
``postgres://user@host/db``, any URL Ibis connects to): the reports then run their passes in that
engine (:mod:`retention.io.tables`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, StrictBool, StrictStr

__all__ = ["SPEC_PARAMETERS", "DataSpec"]

#: Notebook parameter of each spec field (the same names as :func:`retention.load_transactions`'
#: keywords, with ``path`` passed as ``data_path``).
SPEC_PARAMETERS = {
    "path": "data_path",
    "customer": "customer",
    "date": "date",
    "amount": "amount",
    "order": "order",
    "sep": "sep",
    "decimal": "decimal",
    "thousands": "thousands",
    "encoding": "encoding",
    "date_format": "date_format",
    "dayfirst": "dayfirst",
    "sheet": "sheet",
    "drop_invalid": "drop_invalid",
    "table": "table",
}

#: A sheet name, or a sheet number given as text (YAML reads ``sheet: 2`` as a number).
SheetName = Annotated[
    StrictStr,
    BeforeValidator(lambda v: str(v) if isinstance(v, int) and not isinstance(v, bool) else v),
]

#: The loader's defaults of the column mapping.
_DEFAULT_COLUMNS = {"customer": "customer_id", "date": "order_date", "amount": "revenue"}


class DataSpec(BaseModel):
    """The file every report reads, its column mapping and its dialect.

    Every field is optional: a field left out is not passed, and the notebook's default
    applies (the bundled sample, ``customer_id``/``order_date``/``revenue``, detected
    dialect).

    Examples
    --------
    >>> spec = DataSpec(path="/data/orders.csv", customer="client_id", sep=";")
    >>> spec.parameters()
    {'data_path': '/data/orders.csv', 'customer': 'client_id', 'sep': ';'}
    >>> spec.columns()
    {'customer': 'client_id', 'date': 'order_date', 'amount': 'revenue'}
    >>> DataSpec(path="a.csv").merged(DataSpec(path="b.csv", amount="total")).parameters()
    {'data_path': 'b.csv', 'amount': 'total'}
    >>> DataSpec(path="duckdb://data/shop.db", table="orders").resolved(Path("/work")).path
    'duckdb:///work/data/shop.db'
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: StrictStr | None = None
    customer: StrictStr | None = None
    date: StrictStr | None = None
    amount: StrictStr | None = None
    order: StrictStr | None = None
    sep: StrictStr | None = None
    decimal: StrictStr | None = None
    thousands: StrictStr | None = None
    encoding: StrictStr | None = None
    date_format: StrictStr | None = None
    dayfirst: StrictBool | None = None
    sheet: SheetName | None = None
    drop_invalid: StrictBool | None = None
    table: StrictStr | None = None

    def given(self) -> dict[str, Any]:
        """The fields that are set (not ``None``), by field name."""
        return {k: v for k, v in self.model_dump().items() if v is not None}

    def parameters(self) -> dict[str, Any]:
        """The notebook parameters to pass: the given fields under their parameter names."""
        return {SPEC_PARAMETERS[k]: v for k, v in self.given().items()}

    def merged(self, other: DataSpec | None) -> DataSpec:
        """This spec with the fields given in ``other`` replacing its own."""
        if other is None:
            return self
        return self.model_copy(update=other.given())

    def resolved(self, base: Path) -> DataSpec:
        """The spec with a relative ``path`` made absolute against ``base``."""
        if self.path is None:
            return self
        if "://" in self.path:  # a URL; a DuckDB file in it may be relative
            scheme, rest = self.path.split("://", 1)
            if scheme.lower() != "duckdb" or not rest or rest.startswith(("/", ":", "md:")):
                return self
            return self.model_copy(update={"path": f"duckdb://{base / rest}"})
        path = Path(self.path).expanduser()
        return self if path.is_absolute() else self.model_copy(update={"path": str(base / path)})

    def columns(self) -> dict[str, str]:
        """The mapped column names (``customer``, ``date``, ``amount`` and ``order`` if set),
        with the loader's defaults for those not given."""
        columns = {k: getattr(self, k) or v for k, v in _DEFAULT_COLUMNS.items()}
        if self.order is not None:
            columns["order"] = self.order
        return columns

    def load_options(self) -> dict[str, Any]:
        """Keywords of :func:`retention.load_transactions` for this spec (all but ``path``)."""
        options = self.given()
        options.pop("path", None)
        return {**options, **self.columns()}
