"""``nightshift processes list [--json]``: the registered process types and their parameters."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand

from nightshift.processes.registry import all_processes


class Command(BaseCommand):
    help = "List the process types run definitions can use, with their parameter schemas."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="verb", required=True)
        listing = sub.add_parser("list", help="every process: key, name and parameter schema")
        listing.add_argument("--json", action="store_true", help="print a JSON list")

    def handle(self, *args, verb: str, **options):
        processes = [
            {
                "key": process.key,
                "name": str(process.name),
                "description": str(process.description),
                "parameters": process.parameter_schema(),
            }
            for process in all_processes()
        ]
        if options["json"]:
            self.stdout.write(json.dumps(processes, indent=2))
            return
        if not processes:
            self.stdout.write("No processes are registered.")
        for process in processes:
            self.stdout.write(self.style.MIGRATE_HEADING(process["key"]))
            self.stdout.write(f"  {process['name']}")
            self.stdout.write(f"  {process['description']}")
            schema = process["parameters"]
            defs = schema.get("$defs", {})
            for field, spec in schema.get("properties", {}).items():
                self.stdout.write(f"    {field} ({_type_of(spec, defs)}){_default_of(spec)}")
                if spec.get("description"):
                    self.stdout.write(f"        {spec['description']}")


def _type_of(spec: dict, defs: dict) -> str:
    """A short type for a JSON schema property: ``integer``, ``list of string``, ``a | b``."""
    if "$ref" in spec:
        spec = defs.get(spec["$ref"].rsplit("/", 1)[-1], {})
    if "enum" in spec:
        return " | ".join(str(value) for value in spec["enum"])
    if "anyOf" in spec:
        return " or ".join(_type_of(option, defs) for option in spec["anyOf"])
    if spec.get("type") == "array":
        return f"list of {_type_of(spec.get('items', {}), defs)}"
    return str(spec.get("type", "any"))


def _default_of(spec: dict) -> str:
    return f", default {json.dumps(spec['default'])}" if "default" in spec else ""
