"""Reject invalid answers before cookiecutter writes anything.

Answers enter as JSON data, never as Python code, so a hostile value cannot run.
Each rule prints one sentence naming the variable and the rule, then exits 1.
"""

from __future__ import annotations

import json
import keyword
import re
import sys

SLUG = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
OWNER = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")
REPO = re.compile(r"^[A-Za-z0-9-]+/[A-Za-z0-9._-]+$")
REF = re.compile(r"^[A-Za-z0-9._/-]+$")
MAX_PACKAGE_LENGTH = 32
COLUMN_FORBIDDEN = re.compile(r"[\x00-\x1f\"'`\\$]")


def errors(answers: dict[str, str]) -> list[str]:
    """Return one message per broken rule (empty when the answers are valid)."""
    found = []
    if not SLUG.match(answers["project_slug"]):
        found.append(
            f"project_slug {answers['project_slug']!r} must be lowercase letters, digits and "
            "single hyphens, starting with a letter (for example 'churn-model')."
        )
    package = answers["package_name"]
    if not package.isidentifier() or keyword.iskeyword(package) or not package.isascii():
        found.append(
            f"package_name {package!r} must be a valid Python identifier that is not a "
            "keyword (for example 'churn_model')."
        )
    if len(package) > MAX_PACKAGE_LENGTH:
        found.append(
            f"package_name {package!r} must be at most {MAX_PACKAGE_LENGTH} characters, so "
            "generated code stays within the 100-column lint limit (choose a shorter name)."
        )
    if package.lower() != package:
        found.append(f"package_name {package!r} must be lowercase (PEP 8 package names).")
    target = answers["target_column"]
    if not target.strip():
        found.append("target_column must not be empty: name the column the model predicts.")
    elif COLUMN_FORBIDDEN.search(target) or target != target.strip():
        found.append(
            f"target_column {target!r} must not contain quotes, backslashes, '$', backticks, "
            "control characters or surrounding spaces."
        )
    if not EMAIL.match(answers["author_email"]):
        found.append(f"author_email {answers['author_email']!r} must look like name@domain.")
    if not OWNER.match(answers["github_owner"]):
        found.append(
            f"github_owner {answers['github_owner']!r} must be a GitHub user or organisation "
            "name (letters, digits and hyphens)."
        )
    if not REPO.match(answers["template_repo"]):
        found.append(f"template_repo {answers['template_repo']!r} must look like 'owner/name'.")
    if not REF.match(answers["template_ref"]) or ".." in answers["template_ref"]:
        found.append(f"template_ref {answers['template_ref']!r} must be a git tag, branch or SHA.")
    if answers["dvc_remote"] == "local" and "://" in answers["dvc_remote_url"]:
        found.append(
            f"dvc_remote_url {answers['dvc_remote_url']!r} is a cloud URL but dvc_remote is "
            "'local': pick the matching dvc_remote."
        )
    prefixes = {"s3": "s3://", "gcs": "gs://", "azure": "azure://"}
    prefix = prefixes.get(answers["dvc_remote"])
    if prefix and not answers["dvc_remote_url"].startswith(prefix):
        found.append(
            f"dvc_remote_url {answers['dvc_remote_url']!r} must start with {prefix} for "
            f"dvc_remote '{answers['dvc_remote']}'."
        )
    runner = answers.get("training_runner", "github")
    if runner != "github" and answers["dvc_remote"] == "local":
        found.append(
            f"training_runner {runner!r} trains on a cloud machine that cannot reach a local "
            "DVC remote: choose dvc_remote s3, gcs or azure, or training_runner 'github'."
        )
    return found


def main(answers: dict[str, str]) -> int:
    problems = errors(answers)
    for problem in problems:
        print(f"ERROR: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(json.loads(r"""{{ cookiecutter | tojson }}""")))
