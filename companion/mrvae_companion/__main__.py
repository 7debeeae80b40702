"""``python -m mrvae_companion``: see :mod:`mrvae_companion.cli`."""

from mrvae_companion.cli import main

raise SystemExit(main())
