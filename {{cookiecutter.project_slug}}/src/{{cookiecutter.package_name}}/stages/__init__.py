"""Pipeline stages, one module each: a pure function plus a thin main() that dvc.yaml calls."""
