#!/usr/bin/env python
"""Django's command-line utility; ``nightshift`` is the same thing, installed."""

from nightshift.cli import main

if __name__ == "__main__":
    main()
