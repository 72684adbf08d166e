"""The exports screens' forms: what to list, and the output settings of a new export built from
the chosen exporter's columns and filters."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from nightshift.exports.base import Exporter, Kind
from nightshift.exports.models import FileType
from nightshift.exports.registry import all_exporters
from nightshift.runs.models import LogLevel, RunState

__all__ = ["ExportFilterForm", "ExportForm"]

FILTER_PREFIX = "filter_"


class ExportFilterForm(forms.Form):
    """The filters of the exports list."""

    entity = forms.ChoiceField(label=_("Entity"), required=False)
    state = forms.ChoiceField(
        label=_("State"), required=False, choices=[("", "—"), *RunState.choices]
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["entity"].choices = [("", "—")] + [
            (exporter.key, exporter.name) for exporter in all_exporters()
        ]

    def filter(self, runs):
        if not self.is_valid():
            return runs
        if self.cleaned_data["entity"]:
            runs = runs.filter(definition__parameters__entity=self.cleaned_data["entity"])
        if self.cleaned_data["state"]:
            runs = runs.filter(state=self.cleaned_data["state"])
        return runs


class ExportForm(forms.Form):
    """General information and output settings of an export of ``exporter``: one field per
    filter (empty means no condition), the columns to write and the file type. Values are
    passed on as typed; the export process checks them and its errors come back per field."""

    name = forms.CharField(label=_("Name"), required=False, max_length=200)
    log_level = forms.ChoiceField(
        label=_("Log level"), choices=LogLevel.choices, initial=LogLevel.ERRORS
    )
    file_type = forms.ChoiceField(label=_("File type"), choices=FileType.choices)
    columns = forms.MultipleChoiceField(
        label=_("Columns"), required=False, widget=forms.CheckboxSelectMultiple
    )
    export_directory = forms.CharField(
        label=_("Export directory"),
        required=False,
        help_text=_("Also write the file into this directory, relative to the export root."),
    )

    def __init__(self, exporter: type[Exporter], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.exporter = exporter
        columns = exporter.bound_columns()
        self.fields["columns"].choices = [(c.name, c.label) for c in columns]
        self.fields["columns"].initial = [c.name for c in columns]
        self.fields["columns"].help_text = _("In file order; none ticked writes them all.")
        self.filter_names: list[str] = []
        for flt in exporter.bound_filters().values():
            name = FILTER_PREFIX + flt.name
            self.filter_names.append(name)
            if flt.kind == Kind.CHOICE:
                self.fields[name] = forms.MultipleChoiceField(
                    label=flt.label,
                    required=False,
                    choices=[(choice, choice) for choice in flt.choices],
                    widget=forms.CheckboxSelectMultiple,
                )
            elif flt.kind == Kind.BOOLEAN:
                self.fields[name] = forms.ChoiceField(
                    label=flt.label,
                    required=False,
                    choices=[("", "—"), ("true", _("Yes")), ("false", _("No"))],
                )
            else:
                self.fields[name] = forms.CharField(
                    label=flt.label, required=False, help_text=flt.describe()
                )

    def filter_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.filter_names]

    def values(self) -> dict[str, Any]:
        """The keyword arguments of ``start_export`` (without the schedule)."""
        data = self.cleaned_data
        filters = {
            name.removeprefix(FILTER_PREFIX): data[name]
            for name in self.filter_names
            if data.get(name) not in (None, "", [])
        }
        return {
            "entity": self.exporter.key,
            "name": data["name"],
            "log_level": data["log_level"],
            "file_type": data["file_type"],
            "columns": data["columns"],
            "export_directory": data["export_directory"],
            "filters": filters,
        }

    def add_action_errors(self, error: ValidationError) -> list[str]:
        """Put the action's errors next to their fields; return those that belong elsewhere
        (the schedule)."""
        elsewhere = []
        for field, messages in error.message_dict.items():
            name = field.removeprefix("parameters.")
            if name.startswith("filters."):
                name = FILTER_PREFIX + name.removeprefix("filters.")
            if name in self.fields:
                self.add_error(name, messages)
            elif field == "schedule":
                elsewhere.extend(messages)
            else:
                self.add_error(None, messages)
        return elsewhere
