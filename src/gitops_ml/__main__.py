"""``python -m gitops_ml``: the same as the ``gitops-ml`` command."""

from .cli import main

if __name__ == "__main__":
    main()
