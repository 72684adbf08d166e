"""``nightshift demo``: load deterministic demo data into an empty database."""

from __future__ import annotations

import resource
import sys
from types import TracebackType

from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from nightshift.crm.demo import SIZES, DatabaseNotEmptyError, DemoResult, generate_demo


class _ProgressReporter:
    """One rich progress bar per generation step (only on a terminal)."""

    def __init__(self, console: Console) -> None:
        self.progress = Progress(
            TextColumn("{task.description:<24}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        )
        self.tasks: dict[str, int] = {}

    def __enter__(self) -> _ProgressReporter:
        self.progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.progress.stop()

    def start(self, step: str, total: int) -> None:
        self.tasks[step] = self.progress.add_task(step, total=total or None)

    def advance(self, step: str, rows: int) -> None:
        self.progress.advance(self.tasks[step], rows)


class Command(BaseCommand):
    help = (
        "Load deterministic demo data (contacts, sales, billing, rewards, customer events, mail) "
        "into an empty database. The same --seed on the same day gives the same data."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--size",
            choices=list(SIZES),
            default="small",
            help="small: seconds (~500 contacts); medium: ~20k contacts; large: 1M events.",
        )
        parser.add_argument("--seed", type=int, default=42, help="Random seed (default 42).")

    def handle(self, *args: object, size: str, seed: int, verbosity: int, **options: object):
        console = Console(file=self.stdout._out, highlight=False)
        try:
            if verbosity > 0 and console.is_terminal:
                with _ProgressReporter(console) as reporter:
                    result = generate_demo(size=size, seed=seed, reporter=reporter)
            else:
                result = generate_demo(size=size, seed=seed)
        except DatabaseNotEmptyError as error:
            raise CommandError(
                f"The database already holds CRM data ({error}). The demo loads only into an "
                "empty database: run `nightshift flush` to delete ALL data and start over, then "
                "`nightshift demo` again."
            ) from error
        if verbosity > 0:
            self._summary(console, result)

    def _summary(self, console: Console, result: DemoResult) -> None:
        table = Table(title=f"Demo data: size {result.size}, seed {result.seed}")
        table.add_column("Model")
        table.add_column("Rows", justify="right")
        for label, rows in sorted(result.rows.items()):
            table.add_row(label, f"{rows:,}")
        table.add_row("[b]Total[/b]", f"[b]{sum(result.rows.values()):,}[/b]")
        console.print(table)
        # ru_maxrss is in kilobytes on Linux, bytes on macOS.
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        peak_mb = peak / (1024 * 1024 if sys.platform == "darwin" else 1024)
        console.print(f"Loaded in {result.elapsed:.1f} s (peak memory {peak_mb:.0f} MB).")
        console.print("Demo logins (demo databases only, never in production):")
        for username, password in result.logins.items():
            console.print(f"  {username} / {password}")
