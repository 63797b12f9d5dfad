"""The `mlp` command line (Typer + Rich): one module per command group, no logic of its own."""
