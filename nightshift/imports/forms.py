"""The import wizard's forms: they turn what the operator chose into the shapes the actions of
``nightshift.imports.actions`` take (a mapping, the options, input settings, general
information) and put the actions' errors back next to the field each one names.

They check only what building those shapes needs (one field per column at most). Every rule of
an import — a required field must be mapped, input settings must convert — lives in the
actions and the import process, which report it by field.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from nightshift.imports.models import ImportState
from nightshift.imports.registry import Importer, all_importers
from nightshift.imports.templates import field_rows
from nightshift.runs.models import LogLevel, RunState

__all__ = ["ImportFilterForm", "MappingForm", "UploadForm"]

# The run states each of the manual's import states covers (as the run summary maps them).
ENDED = {
    ImportState.COMPLETED: [RunState.COMPLETED, RunState.COMPLETED_WITH_ERRORS],
    ImportState.FAILED: [RunState.FAILED],
}


class UploadForm(forms.Form):
    file = forms.FileField(
        label=_("File"),
        help_text=_("A .csv, .xlsx, .xls or .ods file. Drop it here or choose it."),
    )
    sheet = forms.CharField(
        label=_("Sheet"),
        required=False,
        help_text=_("For a spreadsheet: the sheet to read; empty for the first."),
    )


class MappingForm(forms.Form):
    """Step 3: a select per column of the file (which field it goes into), the options, the
    input settings (a fixed value per field) and the general information.

    Columns are named by position (``column_0`` …) so that switching the header option, which
    renames the columns, keeps the choices."""

    header = forms.BooleanField(
        label=_("Do not import the first row (header)"), required=False, initial=True
    )
    create_missing = forms.BooleanField(
        label=_("Automatically create missing attributes"),
        required=False,
        help_text=_(
            "Create the classifications, locations / warehouses, product families … the file "
            "names that do not exist yet."
        ),
    )
    update_existing = forms.BooleanField(
        label=_("Update existing records"),
        required=False,
        help_text=_(
            "A row whose code exists updates that record; off: the record stays unchanged and "
            "the row is rejected, saying so."
        ),
    )
    day_first = forms.BooleanField(
        label=_("Dates are day first (03/04/2026 is 3 April)"), required=False, initial=True
    )
    sheet = forms.ChoiceField(label=_("Sheet"), required=False)
    name = forms.CharField(
        label=pgettext_lazy("import", "Name"),
        required=False,
        max_length=200,
        help_text=_("Empty: “Import <entity> from <file>”."),
    )
    log_level = forms.ChoiceField(
        label=_("Log level"), choices=LogLevel.choices, initial=LogLevel.ERRORS
    )
    notify_on_completion = forms.BooleanField(
        label=_("E-mail me the summary when the import ends"), required=False, initial=True
    )

    def __init__(
        self,
        importer: Importer,
        described: dict[str, Any],
        data: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(data, **kwargs)
        self.importer = importer
        self.columns: list[str] = described["columns"]
        self.rows: list[list[str]] = described["rows"]
        self.field_errors: dict[str, list[str]] = {}
        required = {f.name for f in importer.required_fields()}
        self.field_rows = [
            {**row, "is_required": row["field"] in required} for row in field_rows(importer)
        ]
        choices = [("", gettext("— Do not import —"))]
        for row in self.field_rows:
            label = row["column"] + (" *" if row["is_required"] else "")
            choices.append((row["field"], label))
        suggested = {column: name for name, column in described["mapping"].items()}
        for index, column in enumerate(self.columns):
            self.fields[f"column_{index}"] = forms.ChoiceField(
                label=column, choices=choices, required=False
            )
            self.initial.setdefault(f"column_{index}", suggested.get(column, ""))
        for row in self.field_rows:
            label = gettext("Fixed value of %(field)s") % {"field": row["column"]}
            self.fields[f"set_{row['field']}"] = forms.CharField(
                label=label,
                required=False,
                max_length=500,
                widget=forms.TextInput(attrs={"aria-label": label}),
            )
        sheets = (described.get("layout") or {}).get("sheets") or []
        if len(sheets) > 1:
            self.fields["sheet"].choices = [(name, name) for name in sheets]
            self.initial.setdefault("sheet", described["layout"].get("sheet") or sheets[0])
        else:
            del self.fields["sheet"]

    def column_rows(self) -> list[tuple[str, str, forms.BoundField]]:
        """Per column of the file: its name, its value on the first row, its select."""
        first = self.rows[0] if self.rows else []
        return [
            (column, first[index] if index < len(first) else "", self[f"column_{index}"])
            for index, column in enumerate(self.columns)
        ]

    def entity_fields(self) -> list[dict[str, Any]]:
        """The entity's fields, each with its input-setting box and the errors naming it."""
        return [
            {
                **row,
                "setting": self[f"set_{row['field']}"],
                "errors": self.field_errors.get(row["field"], []),
            }
            for row in self.field_rows
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        taken: dict[str, str] = {}
        for index, column in enumerate(self.columns):
            name = cleaned.get(f"column_{index}")
            if not name:
                continue
            if name in taken:
                label = self.importer.field(name).label
                self.add_error(
                    f"column_{index}",
                    gettext(
                        "“%(field)s” is already read from column “%(column)s”; choose another "
                        "field or “Do not import”."
                    )
                    % {"field": label, "column": taken[name]},
                )
            else:
                taken[name] = column
        return cleaned

    def options(self) -> dict[str, Any]:
        """The import's options as ``preview_import`` and ``start_import`` take them."""
        data = self.cleaned_data
        mapping = {
            data[f"column_{index}"]: column
            for index, column in enumerate(self.columns)
            if data.get(f"column_{index}")
        }
        settings = {
            row["field"]: data[f"set_{row['field']}"].strip()
            for row in self.field_rows
            if data.get(f"set_{row['field']}", "").strip()
        }
        return {
            "mapping": mapping,
            "header": data["header"],
            "update_existing": data["update_existing"],
            "create_missing": data["create_missing"],
            "day_first": data["day_first"],
            "settings": settings,
            "sheet": data.get("sheet") or "",
        }

    def general(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "log_level": data["log_level"],
            "notify_on_completion": data["notify_on_completion"],
        }

    def add_action_errors(
        self, error: ValidationError, *, schedule: forms.Form | None = None
    ) -> list[str]:
        """Each message of an action's error next to what it names: ``mapping.<field>`` and
        ``settings.<field>`` beside that field of the entity, an option beside the option,
        ``schedule…`` on the scheduling settings. Returns the messages that name nothing here
        (shown above the form)."""
        if not hasattr(error, "error_dict"):
            return list(error.messages)
        left: list[str] = []
        for key, messages in error.message_dict.items():
            head, _dot, name = key.partition(".")
            if head == "mapping" and name in self.importer.bound_fields:
                self.field_errors.setdefault(name, []).extend(messages)
            elif head == "settings" and f"set_{name}" in self.fields:
                self.add_error(f"set_{name}", messages)
            elif head == "schedule" and schedule is not None:
                schedule.add_error(None, [f"{name}: {m}" if name else m for m in messages])
            elif key in self.fields:
                self.add_error(key, messages)
            else:
                left.extend(messages)
        return left

    def hidden_fields_of_choice(self) -> list[forms.BoundField]:
        """Every field, to carry the choices through the preview step as hidden inputs."""
        return [self[name] for name in self.fields]


def _day_start(day) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


class ImportFilterForm(forms.Form):
    entity = forms.ChoiceField(label=_("Entity"), required=False)
    state = forms.ChoiceField(
        label=_("State"), required=False, choices=[("", _("Any")), *ImportState.choices]
    )
    created_from = forms.DateField(
        label=_("Created from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    created_to = forms.DateField(
        label=_("Created to"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["entity"].choices = [
            ("", _("All entities")),
            *((importer.key, importer.name) for importer in all_importers()),
        ]

    def filter(self, runs: QuerySet) -> QuerySet:
        if not self.is_valid():
            return runs
        data = self.cleaned_data
        if data["entity"]:
            runs = runs.filter(definition__parameters__entity=data["entity"])
        if data["state"] in ENDED:
            runs = runs.filter(state__in=ENDED[data["state"]])
        elif data["state"]:
            runs = runs.exclude(state__in=[s for states in ENDED.values() for s in states])
        if data["created_from"]:
            runs = runs.filter(created_at__gte=_day_start(data["created_from"]))
        if data["created_to"]:
            runs = runs.filter(created_at__lt=_day_start(data["created_to"] + timedelta(days=1)))
        return runs
