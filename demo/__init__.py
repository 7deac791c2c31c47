"""`make demo`: the whole GitOps loop of a generated project, offline, through its real workflows.

`python -m demo` (loop.py) renders a project, then plays pull request -> merge -> release ->
monitoring with each workflow run by nektos/act through the act harness (harness/), and tears
everything down. What each module holds: loop (the steps), progress (the lines printed while
it runs, the summary table), prerequisites (what must be installed before it starts), runner
(the self-hosted deploy runner's persistent directories and teardown), endpoint (HTTP to the
deployment), report (the pull-request report saved as Markdown and HTML).
"""
