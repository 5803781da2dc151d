"""Check the provisioned Grafana dashboards against the code: run by deploy/check.sh.

    .venv/bin/python deploy/grafana/check_dashboards.py

- every file in deploy/grafana/dashboards/ is JSON with a unique uid, panels with unique ids laid
  out on Grafana's 24-column grid, and every query on the provisioned Prometheus data source;
- every metric a query names is one the code defines (read from prometheus_client's registry
  after importing each module that defines metrics, so names built in a loop count too), one of
  RabbitMQ's (``rabbitmq_*``, its Prometheus plugin) or Prometheus' own ``up``;
- a dashboard with a ``regency`` variable filters every query by it, and shows every business
  progress figure (``bimtek_shared.contracts.progress.FIGURES``);
- where Debian's promtool is installed (deploy/prometheus/check.sh installs it), every panel query
  parses as PromQL (Grafana's variables replaced by values of their kind).

Prints one ``ok:``/``FAIL:`` line per dashboard; exits 1 if anything failed.
"""
from __future__ import annotations

import importlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml
from prometheus_client import REGISTRY

ROOT = Path(__file__).resolve().parents[2]
GRAFANA = ROOT / "deploy" / "grafana"
CODE = ("shared", "services", "gateway")
SERIES_OF_PROMETHEUS = {"up"}
SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "summary": ("", "_count", "_sum", "_created"),
    "info": ("_info",),
    "stateset": ("",),
    "gaugehistogram": ("_bucket", "_gcount", "_gsum"),
    "unknown": ("",),
}
METRIC_CONSTRUCTOR = re.compile(r"\b(Counter|Gauge|Histogram|Summary|Info|Enum)\(")

# PromQL words that are not metric names, and the parts of an expression that hold none.
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless",
            "offset", "inf", "nan"}
STRINGS = re.compile(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|`[^`]*`')
MATCHERS = re.compile(r"\{[^{}]*\}")
RANGES = re.compile(r"\[[^\]]*\]")
LABEL_LISTS = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
IDENTIFIER = re.compile(r"(?<![\w$.:])([A-Za-z_:][A-Za-z0-9_:]*)(?![\w:])(?!\s*\()")
NUMBER_LIKE = re.compile(r"^(?:e\d+|\d.*)$")
LABEL_VALUES = re.compile(r"^\s*label_values\(\s*([A-Za-z_:][A-Za-z0-9_:]*)")


def unit_module(path: Path) -> str | None:
    """``gateway/bimtek_gateway/rpc.py`` -> ``bimtek_gateway.rpc``: relative to the unit's pyproject."""
    for parent in path.parents:
        if (parent / "pyproject.toml").is_file():
            return ".".join(path.relative_to(parent).with_suffix("").parts)
        if parent == ROOT:
            return None
    return None


def metric_names_in_code() -> set[str]:
    for folder in CODE:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "tests" in path.parts or "migrations" in path.parts:
                continue
            text = path.read_text(encoding="utf-8")
            if "prometheus_client" in text and METRIC_CONSTRUCTOR.search(text):
                module = unit_module(path)
                if module:
                    importlib.import_module(module)
    names = set()
    for family in REGISTRY.collect():
        names.update(family.name + suffix for suffix in SUFFIXES.get(family.type, ("",)))
        names.update(sample.name for sample in family.samples)
    return names


def metrics_in(expr: str) -> set[str]:
    label_values = LABEL_VALUES.match(expr)
    if label_values:
        return {label_values.group(1)}
    stripped = STRINGS.sub(" ", expr)
    stripped = MATCHERS.sub(" ", stripped)
    stripped = RANGES.sub(" ", stripped)
    stripped = LABEL_LISTS.sub(" ", stripped)
    return {word for word in IDENTIFIER.findall(stripped)
            if word.lower() not in KEYWORDS and not NUMBER_LIKE.match(word)}


def panels_of(board: dict) -> list[dict]:
    out = []
    for panel in board.get("panels", []):
        out.append(panel)
        out.extend(panel.get("panels", []))  # a collapsed row holds its panels
    return out


def queries_of(board: dict) -> list[tuple[str, str]]:
    """(where, expr) of every panel query and every query variable."""
    found = []
    for panel in panels_of(board):
        for target in panel.get("targets", []):
            found.append((f"panel {panel.get('id')} {panel.get('title')!r}", target.get("expr", "")))
    for variable in board.get("templating", {}).get("list", []):
        if variable.get("type") == "query":
            query = variable.get("query")
            found.append((f"variable {variable.get('name')}", query.get("query", "") if isinstance(query, dict) else query))
    return found


def check(board: dict, known: set[str], datasource_uid: str, figures: list[str]) -> list[str]:
    problems = []
    for key in ("uid", "title", "panels", "schemaVersion"):
        if key not in board:
            problems.append(f"no {key}")
    ids = [panel.get("id") for panel in panels_of(board)]
    if len(ids) != len(set(ids)) or None in ids:
        problems.append("panel ids are missing or repeated")
    for panel in panels_of(board):
        where = f"panel {panel.get('id')} {panel.get('title')!r}"
        grid = panel.get("gridPos") or {}
        if not all(isinstance(grid.get(k), int) for k in ("x", "y", "w", "h")) or grid.get("x", 0) + grid.get("w", 0) > 24:
            problems.append(f"{where}: gridPos {grid} is not on the 24-column grid")
        if panel.get("type") == "row":
            continue
        if not panel.get("targets"):
            problems.append(f"{where}: no query")
        for target in [panel, *panel.get("targets", [])]:
            source = target.get("datasource")
            if source is not None and (not isinstance(source, dict) or source.get("uid") != datasource_uid):
                problems.append(f"{where}: data source {source} is not the provisioned one (uid {datasource_uid})")
    queries = queries_of(board)
    for where, expr in queries:
        if not expr.strip():
            problems.append(f"{where}: empty query")
        for name in sorted(metrics_in(expr)):
            if name not in known and name not in SERIES_OF_PROMETHEUS and not name.startswith("rabbitmq_"):
                problems.append(f"{where}: no metric {name} in the code")
    variables = {v.get("name") for v in board.get("templating", {}).get("list", [])}
    if "regency" in variables:
        for where, expr in queries:
            if where.startswith("panel") and "$regency" not in expr:
                problems.append(f"{where}: ignores the regency variable")
        shown = set().union(*(metrics_in(expr) for _, expr in queries))
        for figure in figures:
            if f"bimtek_{figure}" not in shown:
                problems.append(f"no panel shows bimtek_{figure}")
    return problems


# Grafana's variables, replaced by something of their kind so that promtool can parse the query.
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h", "$regency": ".*"}


def promql_problems(queries: list[tuple[str, str]]) -> list[str]:
    """Have promtool parse every query, as the expressions of recording rules."""
    rules = []
    for index, (where, expr) in enumerate(queries):
        if where.startswith("panel"):
            for variable, value in GRAFANA_VARIABLES.items():
                expr = expr.replace(variable, value)
            rules.append({"record": f"dashboard_query_{index}", "expr": expr})
    with tempfile.NamedTemporaryFile("w", suffix=".yml") as rules_file:
        yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}, rules_file)
        rules_file.flush()
        checked = subprocess.run(["promtool", "check", "rules", rules_file.name], capture_output=True, text=True)
    if checked.returncode == 0:
        return []
    named = {f'"dashboard_query_{index}"': where for index, (where, _) in enumerate(queries)}
    problems = []
    for line in (checked.stdout + checked.stderr).splitlines():
        if "error" in line.lower():
            for record, where in named.items():
                line = line.replace(record, where)
            problems.append(f"promtool: {line.strip()}")
    return problems or [f"promtool check rules failed: {checked.stdout + checked.stderr}"]


def main() -> int:
    sources = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text())
    datasource_uid = sources["datasources"][0]["uid"]
    known = metric_names_in_code()
    try:
        figures = [f for group in importlib.import_module("bimtek_shared.contracts.progress").FIGURES.values()
                   for f in group]
    except (ImportError, AttributeError):
        figures = []
    failures, uids = 0, {}
    promtool = shutil.which("promtool")
    if not promtool:
        print("skip: PromQL syntax of the dashboards (promtool is not installed)")
    boards = sorted((GRAFANA / "dashboards").glob("*.json"))
    if not boards:
        print("FAIL: no dashboard in deploy/grafana/dashboards")
        return 1
    for path in boards:
        name = path.relative_to(ROOT)
        try:
            board = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            print(f"FAIL: {name}: not JSON ({exc})")
            failures += 1
            continue
        problems = check(board, known, datasource_uid, figures)
        if promtool:
            problems += promql_problems(queries_of(board))
        if board.get("uid") in uids:
            problems.append(f"uid {board['uid']} is also {uids[board['uid']]}'s")
        uids[board.get("uid")] = name
        if problems:
            failures += 1
            for problem in problems:
                print(f"FAIL: {name}: {problem}")
        else:
            print(f"ok:   {name}: {len(panels_of(board))} panels, {len(queries_of(board))} queries "
                  f"on metrics the code defines{', PromQL parsed by promtool' if promtool else ''}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
