"""``python -m mrvae``: see :mod:`mrvae.cli`."""

from mrvae.cli import main

raise SystemExit(main())
