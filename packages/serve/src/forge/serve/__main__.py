"""``python -m forge.serve RUN_DIR ...``: the ``forge serve`` command without the forge CLI around it."""

from __future__ import annotations

from forge.serve.command import serve_command

if __name__ == "__main__":
    serve_command(prog_name="python -m forge.serve")
