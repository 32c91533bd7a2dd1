"""``python -m smartworker``."""

from smartworker.cli import main

main()
