"""The companion book's experiment layer, a distribution apart from the library.

It depends on :mod:`mrvae` and the library never imports it (``tests/test_import_graph.py``).
The notebooks and scripts share these: the image experiments and their profiles
(:mod:`.experiments`) and the other model families' panels (:mod:`.families`), figure styling
and figure files with provenance (:mod:`.figures`), the claims scoreboard (:mod:`.scoreboard`),
seeding, devices and the trained-model cache (:mod:`.runtime`), and the ``mrvae-companion``
command line (:mod:`.cli`).
"""
