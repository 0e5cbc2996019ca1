"""The Typer command layer: parse options, call the core, render progress and results."""
