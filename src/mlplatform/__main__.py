"""`python -m mlplatform` is the `mlp` command."""

from mlplatform.cli.app import main

main()
