"""{{ cookiecutter.project_name }}: a DVC pipeline with data tests, MLflow tracking and CI reports."""

__version__ = "0.1.0"
