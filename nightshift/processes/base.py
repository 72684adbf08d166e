"""The contract every process plugin fulfils, and what the engine gets back from it.

A process is a kind of batch work (e.g. taking subscriptions out of short term deactivation).
It declares its parameters (criteria + input settings) as a pydantic model, validates them with
its own conditional rules, selects its candidate records as one queryset, and processes a batch
of them, returning one outcome per record. The engine owns everything else — runs, batches,
transactions, run items, throttling, stop — and never names a process.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import pydantic
from django.utils.translation import gettext as _

from nightshift.scheduling.validation import describe_error

if TYPE_CHECKING:
    from django.db.models import Model, QuerySet
    from django.utils.functional import Promise

__all__ = ["ALL_SUCCEEDED", "Outcome", "ParameterError", "Process", "ProcessFailed", "RunOutput"]


class ProcessFailed(Exception):
    """The run cannot go on, for a reason the operator can act on (a file that cannot be read,
    an integration that is not configured). The engine ends the run *failed* with this message
    as it is, where any other exception is reported with the record it happened after."""


class ParameterError(ValueError):
    """Parameters a process refuses. ``errors`` maps a field path (``"binding_periods"``,
    ``"criteria.price_plans.0"``) to an operator-facing message, so that forms, the API and the
    CLI can each put the message next to the field it names."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors: dict[str, str] = {field: str(message) for field, message in errors.items()}
        super().__init__("; ".join(f"{field}: {message}" for field, message in self.errors.items()))


@dataclass(slots=True)
class Outcome:
    """What happened to one candidate record: ``ok`` with an optional note, or an error whose
    message tells the operator why the record was not processed. (Not frozen: a frozen
    dataclass sets each field through ``object.__setattr__``, which made the outcomes of a
    10,000-row import batch cost four times as long.)"""

    record_id: int
    ok: bool
    message: str = ""


class _AllSucceeded:
    """What ``process_batch`` may return instead of one ``Outcome(id, True)`` per record when
    every record of the batch succeeded without a note: the engine counts them (and stores
    their items when the run logs successes) without an object per record."""

    def __repr__(self) -> str:
        return "ALL_SUCCEEDED"


ALL_SUCCEEDED = _AllSucceeded()


@dataclass(frozen=True, slots=True)
class RunOutput:
    """A file a run produced (an export, an error file), offered for download on the run page
    and by the API and the CLI."""

    name: str
    url: str
    size: int | None = None
    description: str = ""


def _field_path(loc: tuple[int | str, ...]) -> str:
    # pydantic locates an error as a tuple ("criteria", "price_plans", 0); the dotted form is
    # what forms and JSON clients expect. A model-level error (empty loc) belongs to no field.
    return ".".join(str(part) for part in loc) or "__all__"


class Process:
    """Base class of every process type; subclass it and decorate with ``@register``.

    Subclasses set ``key`` (a stable slug: run definitions store it, so never rename it),
    ``name`` and ``description`` (operator-facing, translated), and ``Parameters`` (a pydantic
    model with ``extra="forbid"`` so that a mistyped criterion is refused rather than ignored).
    They implement ``candidates`` and ``process_batch``, and override ``check`` for rules that
    need the database or depend on several fields.

    The engine instantiates the class with no arguments, once per run, and passes the
    normalised parameters (what ``validate_parameters`` returned) to both methods.
    """

    key: ClassVar[str]
    name: ClassVar[str | Promise]
    description: ClassVar[str | Promise]
    Parameters: ClassVar[type[pydantic.BaseModel]]
    # The model whose rows ``candidates`` selects; the engine uses it to show and link records.
    model: ClassVar[type[Model] | None] = None
    # The process's own cadence on the automatic agenda (scheduling settings, as a definition
    # has them): what definitions following the agenda fire on until an administrator sets an
    # entry of their own for the process.
    default_agenda: ClassVar[dict[str, Any] | None] = None
    # Records per batch when the process knows better than ``NIGHTSHIFT_BATCH_SIZE`` (an
    # export, whose batch is cheap per record and costly per transaction).
    batch_size: ClassVar[int | None] = None
    # Submitting a definition of this process asks for the user's password again (the
    # definition screens show a password field on Submit; the API and CLI take one).
    requires_password: ClassVar[bool] = False

    @classmethod
    def authorize_submission(cls, *, user: Any, password: str | None) -> None:
        """Refuse (``PermissionDenied`` or ``ValidationError`` on ``password``) a user who may
        operate runs but not submit this process. Called before the submission's transaction,
        so that what it records (a refused password) stays. The default accepts everyone."""
        return

    @classmethod
    def parameter_schema(cls) -> dict[str, Any]:
        """The JSON schema of ``Parameters``: what ``processes list``, the API and the
        definition screens show and build their forms from."""
        return cls.Parameters.model_json_schema()

    @classmethod
    def validate_parameters(cls, data: Mapping[str, Any] | None) -> dict[str, Any]:
        """Validate ``data`` and return the normalised, JSON-serialisable parameters.

        Field types and ranges are checked by pydantic first; only parameters that pass are
        handed to ``check`` for the database-dependent and conditional rules. Raises
        ``ParameterError`` naming every offending field.
        """
        if data is not None and not isinstance(data, Mapping):
            raise ParameterError({"__all__": _("The parameters must be a JSON object.")})
        try:
            params = cls.Parameters.model_validate(dict(data or {}))
        except pydantic.ValidationError as exc:
            errors: dict[str, str] = {}
            for error in exc.errors(include_url=False):
                errors.setdefault(_field_path(error["loc"]), describe_error(error))
            raise ParameterError(errors) from None
        cls.check(params)
        return params.model_dump(mode="json")

    @classmethod
    def check(cls, params: pydantic.BaseModel) -> None:
        """Rules pydantic cannot express alone (they need the database or several fields).
        Raise ``ParameterError`` naming the fields; the default accepts everything."""
        return

    @classmethod
    def run_summary(cls, run: Any) -> dict[str, Any]:
        """Figures of a run of this process beyond the engine's own counts (an import's
        created, updated and rejected rows; an archive run's rows archived and its archive),
        added to the run summary the CLI and the API print. The default adds nothing."""
        return {}

    @classmethod
    def describe_run(cls, run: Any) -> str:
        """Text for the operator added to the summary e-mail of a run of this process (an
        import's figures and the link to its error file). The default adds nothing."""
        return ""

    def candidates(self, params: dict[str, Any], *, as_of: datetime.date) -> QuerySet:
        """The records a run executed on ``as_of`` would process, as one queryset ordered by
        primary key. The engine iterates its primary keys in chunks; it must not be evaluated
        here (the set may hold millions of rows)."""
        raise NotImplementedError

    def count(self, params: dict[str, Any], *, as_of: datetime.date, after: int) -> int:
        """How many records are left above the key ``after``: the run's total and progress.

        The default counts ``candidates``; a process whose records are not rows of a table
        (the lines of an uploaded file) overrides ``count`` and ``next_keys`` together."""
        return self.candidates(params, as_of=as_of).filter(pk__gt=after).count()

    def next_keys(
        self, params: dict[str, Any], *, as_of: datetime.date, after: int, limit: int
    ) -> list[int]:
        """The keys of the next ``limit`` records above ``after``, ascending: the batch the
        engine hands to ``process_batch``. Keys are what the run's cursor and run items store,
        so a run taken over after a crash resumes above the last committed key."""
        candidates = self.candidates(params, as_of=as_of).filter(pk__gt=after).order_by("pk")
        return list(candidates.values_list("pk", flat=True)[:limit])

    def complete(
        self, params: dict[str, Any], *, as_of: datetime.date, run_number: int | None
    ) -> None:
        """Called once every record is processed, in a transaction of its own just before the
        run ends (e.g. to assemble an output file). Not called for a run that is stopped, fails
        or stops at its throttling cap. A worker dying right after it makes the run's next
        worker call it again, so it must be idempotent. Raising fails the run. The default
        does nothing."""
        return

    def outputs(self, run: Any) -> list[RunOutput]:
        """The files ``run`` (a ``ProcessRun`` of this process) produced, for the run page to
        offer for download. The default is none."""
        return []

    def process_batch(
        self,
        params: dict[str, Any],
        ids: list[int],
        *,
        as_of: datetime.date,
        run_number: int | None,
    ) -> list[Outcome] | _AllSucceeded:
        """Process the records ``ids`` and return exactly one ``Outcome`` per id (or
        ``ALL_SUCCEEDED`` when every one succeeded without a note).

        Set-based: a constant number of queries whatever the batch size (``bulk_create``,
        ``QuerySet.update``), never a save per row. It runs inside the engine's transaction for
        the batch — a stop rolls the whole batch back — so it opens no durable transaction of
        its own. A record that is no longer a candidate (processed by an earlier attempt, or
        changed since it was selected) gets an error outcome and is left untouched, so that
        re-running a batch never processes anything twice.
        """
        raise NotImplementedError
