"""Import templates: a file with the entity's columns and a sample row, and for XLSX a second
sheet describing each field (type, required, allowed values, what it is)."""

from __future__ import annotations

import csv
import io
import re

from django.utils.translation import gettext as _

from nightshift.imports.registry import FieldType, Importer

__all__ = ["TEMPLATE_FORMATS", "field_rows", "template"]

TEMPLATE_FORMATS = ("csv", "xlsx")


def field_rows(importer: Importer) -> list[dict[str, str]]:
    """One description per field, as the template's second sheet and the API list them."""
    rows = []
    for f in importer.bound_fields.values():
        allowed = ", ".join(f.allowed_values())
        if f.type == FieldType.REFERENCE:
            model = f.reference.model_class()._meta.verbose_name
            allowed = _("the %(lookup)s of an existing %(model)s") % {
                "lookup": f.reference.lookup,
                "model": model,
            }
            if f.reference.creatable:
                allowed += " " + _("(created when “create missing attributes” is on)")
        required = f.required and not (importer.generates_code and f.name in importer.match)
        rows.append(
            {
                "column": str(f.label),
                "field": f.name,
                "type": str(f.type),
                "required": _("yes") if required else _("no"),
                "allowed": allowed,
                "description": str(f.help),
                "sample": f.sample,
            }
        )
    return rows


def template(importer: Importer, fmt: str) -> bytes:
    """The template of ``importer`` as a CSV or XLSX file's bytes."""
    rows = field_rows(importer)
    header = [row["column"] for row in rows]
    sample = [row["sample"] for row in rows]
    if fmt == "csv":
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\r\n")
        writer.writerow(header)
        writer.writerow(sample)
        return text.getvalue().encode("utf-8-sig")
    import xlsxwriter

    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    bold = workbook.add_format({"bold": True})
    data = workbook.add_worksheet(re.sub(r"[\[\]:*?/\\]", "-", str(importer.name))[:31])
    data.write_row(0, 0, header, bold)
    for column, value in enumerate(sample):
        data.write_string(1, column, value)  # text: "00123" keeps its zeros
    data.set_column(0, len(header) - 1, 18)
    fields = workbook.add_worksheet(_("Fields")[:31])
    titles = [
        _("Column"),
        _("Field"),
        _("Type"),
        _("Required"),
        _("Allowed values"),
        _("Description"),
    ]
    fields.write_row(0, 0, titles, bold)
    for line, row in enumerate(rows, start=1):
        fields.write_row(
            line,
            0,
            [
                row["column"],
                row["field"],
                row["type"],
                row["required"],
                row["allowed"],
                row["description"],
            ],
        )
    fields.set_column(0, 5, 22)
    workbook.close()
    return buffer.getvalue()
