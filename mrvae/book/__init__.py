"""Support code for the companion book, kept apart from the library.

The notebooks share these: the image experiments and their profiles (:mod:`.experiments`),
figure styling and figure files with provenance (:mod:`.figures`), and seeding, devices and
the trained-model cache (:mod:`.runtime`). The library never imports it; only the book and
the command line (:mod:`mrvae.cli`) do.
"""
