"""The `emsync` console command: one typer app, one module per command group."""
