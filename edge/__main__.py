"""`python -m fieldlab`: the `fieldlab` command."""

from fieldlab.cli.main import main

raise SystemExit(main())
