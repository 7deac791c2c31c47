"""Tests of the gitops_ml library, run against real generated projects (conftest.py)."""
