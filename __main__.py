"""Entry point for `pulumi up`: everything happens in components.program.run()."""

from components.program import run

run()
