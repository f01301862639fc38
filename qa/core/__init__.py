"""Value objects, errors, settings and model identity: no I/O, imported by every stage."""
