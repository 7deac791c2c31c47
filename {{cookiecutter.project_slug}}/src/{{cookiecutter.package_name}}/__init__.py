"""This project's ML code: where its data comes from (data.py), its settings (config.py) and
its pipeline stages (stages/). Promotion, deployment, monitoring and tuning are commands of
the gitops-ml library (`gitops-ml --help`), run through the Makefile."""

__version__ = "0.1.0"
