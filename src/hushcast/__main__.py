"""``hushcast`` (the console script) and ``python -m hushcast``: the command line.

For ``hushcast worker`` the stop signals are held first, before the command line's own
imports (typer, rich, pydantic, SQLAlchemy): about 0.6 s on an idle machine and seconds
on a loaded one, in which a SIGTERM used to kill the worker by the default action
(exit -15) instead of stopping it gracefully (see delivery/process.py).
"""

from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:2] == ["worker"]:
        from hushcast.delivery.process import hold_stop_signals_until_started

        hold_stop_signals_until_started()
    from hushcast.cli import app

    app(prog_name="hushcast")


if __name__ == "__main__":
    main()
