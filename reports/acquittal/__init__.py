"""The financial-year acquittal workbook, the consortium's account to its funder.

``workbook`` writes it (docs/exports.md#the-acquittal) from the fund flows and holders of ``rows``
and the de-identified outcomes of ``domains`` (docs/exports.md#privacy).
"""

from reports.acquittal.workbook import write_acquittal

__all__ = ["write_acquittal"]
