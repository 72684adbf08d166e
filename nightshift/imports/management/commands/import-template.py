"""``nightshift import-template ENTITY --format csv|xlsx -o FILE``: an entity's import
template — its columns and a sample row; the XLSX adds a sheet describing each field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from nightshift.imports.registry import all_importers, get_importer
from nightshift.imports.templates import TEMPLATE_FORMATS, template


class Command(BaseCommand):
    help = "Write the import template of an entity."

    def add_arguments(self, parser: CommandParser) -> None:
        entities = ", ".join(importer.key for importer in all_importers())
        parser.add_argument("entity", metavar="ENTITY", help=f"one of: {entities}")
        parser.add_argument("--format", choices=TEMPLATE_FORMATS, default="csv")
        parser.add_argument("-o", "--output", type=Path, metavar="FILE", help="default: ENTITY.FMT")

    def handle(self, *args: Any, entity: str, format: str, output: Path | None, **options: Any):
        try:
            importer = get_importer(entity)
        except LookupError as exc:
            raise CommandError(str(exc)) from None
        output = output or Path(f"{entity}.{format}")
        output.write_bytes(template(importer, format))
        self.stdout.write(f"Wrote the {importer.name} template to {output}.")
