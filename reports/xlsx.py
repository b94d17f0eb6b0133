"""Workbooks that stream in constant memory and come out byte-identical for the same data.

openpyxl's ``write_only`` mode writes each sheet's rows to a temporary file as they arrive, so a
year of payments never sits in memory. Two things would still make the bytes differ between two
runs on the same ledger state: the document's created/modified times (``save_workbook`` stamps
"now") and the zip entries' timestamps (``ZipFile`` stamps "now" or the temp file's mtime).
``save`` fixes both to a stamp the caller derives from the data (the period's end), which is what
lets a closed period be regenerated and compared with its checksum at any later date.

Money goes in as integer cents and is written as an exact ``Decimal`` of dollars with a money
format; dates as dates with the Australian ``dd/mm/yyyy`` format.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.writer.excel import ExcelWriter

from reports.cells import neutralise

MONEY_FORMAT = "#,##0.00;[Red]-#,##0.00"
DATE_FORMAT = "DD/MM/YYYY"
PERCENT_FORMAT = "0.0%"


@dataclass(frozen=True)
class Money:
    """Integer cents, marked so the sheet writes them as dollars with the money format."""

    cents: int


@dataclass(frozen=True)
class Percent:
    """A share written as a percentage (``basis_points`` of 10,000 = 100%)."""

    basis_points: int


class _FixedTimeZip(zipfile.ZipFile):
    """A zip whose every entry carries the same timestamp, whatever the clock says."""

    def __init__(self, file: IO[bytes], stamp: datetime) -> None:
        super().__init__(file, "w", zipfile.ZIP_DEFLATED, allowZip64=True)
        self._stamp = (stamp.year, stamp.month, stamp.day, stamp.hour, stamp.minute, stamp.second)

    def _info(self, name: str) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, date_time=self._stamp)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o600 << 16
        return info

    def writestr(self, zinfo_or_arcname: Any, data: Any, *args: Any, **kwargs: Any) -> None:
        if isinstance(zinfo_or_arcname, str):
            zinfo_or_arcname = self._info(zinfo_or_arcname)
        super().writestr(zinfo_or_arcname, data, *args, **kwargs)

    def write(self, filename: Any, arcname: Any = None, *args: Any, **kwargs: Any) -> None:
        """Stream a temporary sheet file in blocks under a fixed timestamp."""
        with open(filename, "rb") as source, self.open(self._info(arcname), "w") as target:
            for block in iter(lambda: source.read(1 << 20), b""):
                target.write(block)


class SheetWriter:
    """One streaming sheet: a bold, frozen header row, then typed rows."""

    def __init__(
        self,
        book: Workbook,
        title: str,
        headers: Sequence[str],
        widths: Sequence[int] | None = None,
    ) -> None:
        self.sheet: WriteOnlyWorksheet = book.create_sheet(title)
        self.rows = 0
        for index, width in enumerate(widths or [16] * len(headers), start=1):
            self.sheet.column_dimensions[get_column_letter(index)].width = width
        self.sheet.freeze_panes = "A2"
        self.sheet.append([self._cell(header, bold=True) for header in headers])

    def row(self, values: Iterable[Any], *, bold: bool = False) -> None:
        self.sheet.append([self._cell(value, bold=bold) for value in values])
        self.rows += 1

    def blank(self) -> None:
        self.sheet.append([])

    def _cell(self, value: Any, *, bold: bool = False) -> Cell:
        cell = WriteOnlyCell(self.sheet, value=_value(value))
        if isinstance(value, Money):
            cell.number_format = MONEY_FORMAT
        elif isinstance(value, Percent):
            cell.number_format = PERCENT_FORMAT
        elif isinstance(value, date):
            cell.number_format = DATE_FORMAT
        if bold:
            cell.font = Font(bold=True)
        return cell


def dollars(cents: int) -> Decimal:
    """Exact dollars for a cell: ``Decimal`` never picks up a binary fraction on the way."""
    return Decimal(cents).scaleb(-2)


def _value(value: Any) -> Any:
    if isinstance(value, Money):
        return dollars(value.cents)
    if isinstance(value, Percent):
        return Decimal(value.basis_points).scaleb(-4)
    if isinstance(value, str):
        return neutralise(value)
    if isinstance(value, datetime):
        raise TypeError("write accounting dates or text, not datetimes")  # tz would be lost
    return value


def end_of(day: date) -> datetime:
    """The stamp for a file about a period ending on ``day``: its last second, naive local."""
    return datetime.combine(day, time(23, 59, 59))


def new_workbook(title: str, stamp: datetime) -> Workbook:
    """A streaming workbook whose properties depend only on ``title`` and ``stamp``."""
    book = Workbook(write_only=True)
    book.properties.creator = "flexpool"
    book.properties.title = title
    book.properties.created = stamp
    book.properties.modified = stamp
    book.properties.lastModifiedBy = "flexpool"
    return book


def save(book: Workbook, out: IO[bytes], stamp: datetime) -> None:
    """Write ``book`` to ``out`` with every timestamp fixed to ``stamp`` (naive, local)."""
    with _FixedTimeZip(out, stamp) as archive:
        ExcelWriter(book, archive).save()
