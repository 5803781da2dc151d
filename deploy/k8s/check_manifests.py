"""Check rendered Kubernetes manifests against the deployment's rules: run by deploy/check.sh.

    kubectl kustomize deploy/k8s/overlays/jawa-timur > rendered.yaml
    python3 deploy/k8s/check_manifests.py rendered.yaml core.yaml
    kubernetes-validate --strict core.yaml

Writes the core Kubernetes resources to ``core.yaml`` for kubernetes-validate, which knows the API
schemas but no custom resource. The custom resources (the RabbitMQ Cluster Operator's and
CloudNativePG's) are held to a list of known kinds and checked here for what the application
relies on. Then the rules: no Secret committed and every secret setting from a secretKeyRef;
each unit's Deployment with requests and limits, liveness on /healthz and readiness on /readyz at
the port its image exposes, an autoscaling/v2 HPA and a PDB; a migration Job per unit; a default
deny NetworkPolicy; only the gateway behind the Ingress; pinned images; the broker and database
names the units connect to are the ones the custom resources create; Prometheus' ConfigMaps hold
exactly deploy/prometheus/prometheus-k8s.yml and rules/*.yml (of which base/ keeps copies).

Prints one ``ok:``/``FAIL:`` line per check; exits with the number of failures (at most 100).
"""
from __future__ import annotations

import re
import sys
from pathlib import Path
from urllib.parse import urlsplit

import yaml

ROOT = Path(__file__).resolve().parents[2]
UNITS = {  # Deployment -> (Dockerfile, alembic.ini, the file serving /healthz and /readyz)
    "registration": ("services/registration/Dockerfile", "services/registration/alembic.ini",
                     "shared/bimtek_shared/nameko_ext/observability.py"),
    "scheduling": ("services/scheduling/Dockerfile", "services/scheduling/alembic.ini",
                   "shared/bimtek_shared/nameko_ext/observability.py"),
    "certificates": ("services/certificates/Dockerfile", "services/certificates/alembic.ini",
                     "shared/bimtek_shared/nameko_ext/observability.py"),
    "gateway": ("gateway/Dockerfile", "gateway/alembic.ini", "gateway/bimtek_gateway/routers/health.py"),
}
CUSTOM_KINDS = {
    ("rabbitmq.com/v1beta1", "RabbitmqCluster"),
    ("postgresql.cnpg.io/v1", "Cluster"),
    ("postgresql.cnpg.io/v1", "Database"),
    ("postgresql.cnpg.io/v1", "ScheduledBackup"),
    ("barmancloud.cnpg.io/v1", "ObjectStore"),  # CloudNativePG's Barman Cloud Plugin (backups)
}
# API groups of Kubernetes itself: kubernetes-validate has their schemas.
CORE_GROUPS = {"", "apps", "batch", "autoscaling", "policy", "networking.k8s.io", "rbac.authorization.k8s.io",
               "storage.k8s.io", "discovery.k8s.io", "coordination.k8s.io", "scheduling.k8s.io"}
SECRET_SETTINGS = {"NIK_KEYS", "NIK_ENCRYPTION_KEY", "NIK_LOOKUP_KEY", "QR_SIGNING_KEYS", "CERTIFICATE_SIGNING_KEYS",
                   "JWT_PRIVATE_KEY", "RABBITMQ_PASSWORD", "POSTGRES_PASSWORD"}

failures = 0


def fail(message: str) -> None:
    global failures
    failures += 1
    print(f"FAIL: k8s: {message}")


def ok(message: str) -> None:
    print(f"ok:   k8s: {message}")


def group_of(api_version: str) -> str:
    return api_version.rpartition("/")[0] if "/" in api_version else ""


def pod_spec(doc: dict) -> dict:
    return ((doc.get("spec") or {}).get("template") or {}).get("spec") or {}


def containers(spec: dict) -> list[dict]:
    return list(spec.get("initContainers") or []) + list(spec.get("containers") or [])


def env_value(container: dict, name: str) -> str | None:
    for var in container.get("env") or []:
        if var.get("name") == name:
            return var.get("value")
    return None


def probe_port(container: dict, probe: dict):
    port = (probe.get("httpGet") or {}).get("port")
    for declared in container.get("ports") or []:
        if port == declared.get("name"):
            return declared.get("containerPort")
    return port


def selects(selector: dict, labels: dict) -> bool:
    wanted = (selector or {}).get("matchLabels") or {}
    return bool(wanted) and all(labels.get(k) == v for k, v in wanted.items())


def main(rendered: Path, core_out: Path) -> int:
    global failures
    failures = 0
    docs = [d for d in yaml.safe_load_all(rendered.read_text()) if d]
    core, custom = [], []
    for doc in docs:
        key = (doc.get("apiVersion", ""), doc.get("kind", ""))
        if group_of(key[0]) in CORE_GROUPS:
            core.append(doc)
        elif key in CUSTOM_KINDS:
            custom.append(doc)
        else:
            fail(f"{key[1]} {key[0]} is neither a Kubernetes kind nor a custom resource this check knows")
    core_out.write_text(yaml.safe_dump_all(core, sort_keys=False))
    ok(f"{len(docs)} resources rendered: {len(core)} Kubernetes ones (to kubernetes-validate), "
       f"{len(custom)} custom ({', '.join(sorted({d['kind'] for d in custom}))})")
    by_kind: dict[str, list[dict]] = {}
    for doc in docs:
        by_kind.setdefault(doc["kind"], []).append(doc)
    before = failures

    # -- secrets ------------------------------------------------------------------------------
    if by_kind.get("Secret"):
        fail("a Secret is committed: " + ", ".join(d["metadata"]["name"] for d in by_kind["Secret"]))
    for cm in by_kind.get("ConfigMap", []):
        leaked = SECRET_SETTINGS & set(cm.get("data") or {})
        if leaked:
            fail(f"ConfigMap {cm['metadata']['name']} holds {sorted(leaked)}")
    workloads = by_kind.get("Deployment", []) + by_kind.get("Job", [])
    for doc in workloads:
        for container in containers(pod_spec(doc)):
            where = f"{doc['kind']} {doc['metadata']['name']} container {container['name']}"
            for var in container.get("env") or []:
                if var.get("name") in SECRET_SETTINGS and "secretKeyRef" not in (var.get("valueFrom") or {}):
                    fail(f"{where}: {var['name']} is not read from a Secret (secretKeyRef)")
            resources = container.get("resources") or {}
            for part in ("requests", "limits"):
                if not {"cpu", "memory"} <= set(resources.get(part) or {}):
                    fail(f"{where}: no cpu and memory {part}")
            image = container.get("image", "")
            if ":" not in image.rsplit("/", 1)[-1] or image.endswith(":latest"):
                fail(f"{where}: image {image!r} is not pinned to a tag")
            security = container.get("securityContext") or {}
            if security.get("allowPrivilegeEscalation") is not False or not security.get("readOnlyRootFilesystem"):
                fail(f"{where}: privilege escalation allowed or root filesystem writable")

    # -- the units ------------------------------------------------------------------------------
    deployments = {d["metadata"]["name"]: d for d in by_kind.get("Deployment", [])}
    hpas = {(h["spec"]["scaleTargetRef"]["kind"], h["spec"]["scaleTargetRef"]["name"]): h
            for h in by_kind.get("HorizontalPodAutoscaler", []) if h["apiVersion"] == "autoscaling/v2"}
    for unit, (dockerfile, alembic_ini, health_source) in UNITS.items():
        deployment = deployments.get(unit)
        if deployment is None:
            fail(f"no Deployment {unit}")
            continue
        exposed = re.findall(r"^EXPOSE\s+(\d+)", (ROOT / dockerfile).read_text(), re.M)
        served = (ROOT / health_source).read_text()
        main_container = next((c for c in pod_spec(deployment).get("containers", []) if c["name"] == unit), None)
        if main_container is None:
            fail(f"Deployment {unit} has no container named {unit}")
            continue
        for probe_name, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
            probe = main_container.get(probe_name) or {}
            got = (probe.get("httpGet") or {}).get("path")
            port = probe_port(main_container, probe)
            if got != path:
                fail(f"Deployment {unit}: {probe_name} GETs {got!r}, not {path}")
            elif f'"{path}"' not in served:
                fail(f"Deployment {unit}: {path} is not served by {health_source}")
            if not exposed or str(port) != exposed[-1]:
                fail(f"Deployment {unit}: {probe_name} on port {port}, but {dockerfile} exposes {exposed}")
        hpa = hpas.get(("Deployment", unit))
        if hpa is None:
            fail(f"Deployment {unit} has no autoscaling/v2 HorizontalPodAutoscaler")
        elif "replicas" in deployment["spec"]:
            fail(f"Deployment {unit} sets replicas: each apply would undo its HPA's count")
        labels = deployment["spec"]["template"]["metadata"].get("labels", {})
        pdbs = [p for p in by_kind.get("PodDisruptionBudget", []) if selects(p["spec"].get("selector"), labels)]
        if not pdbs:
            fail(f"Deployment {unit} has no PodDisruptionBudget")
        elif hpa and pdbs[0]["spec"].get("minAvailable", 0) >= hpa["spec"].get("minReplicas", 1):
            fail(f"Deployment {unit}: its PDB's minAvailable leaves no pod to evict at minReplicas")
        migrations = [j for j in by_kind.get("Job", []) for c in pod_spec(j).get("containers", [])
                      if c.get("command", [])[:3] == ["alembic", "-c", alembic_ini] and "upgrade" in c["command"]]
        if not migrations:
            fail(f"no Job runs alembic -c {alembic_ini} upgrade head")
    if not any("setup-broker" in c.get("command", []) for j in by_kind.get("Job", [])
               for c in pod_spec(j).get("containers", [])):
        fail("no Job runs bimtek-ops setup-broker")

    # -- the network ----------------------------------------------------------------------------
    policies = by_kind.get("NetworkPolicy", [])
    if not any(p["spec"].get("podSelector") == {} and set(p["spec"].get("policyTypes", [])) == {"Ingress", "Egress"}
               and not p["spec"].get("ingress") and not p["spec"].get("egress") for p in policies):
        fail("no default-deny NetworkPolicy (every pod, Ingress and Egress, no rule)")
    for service in by_kind.get("Service", []):
        if service["spec"].get("type", "ClusterIP") != "ClusterIP":
            fail(f"Service {service['metadata']['name']} is {service['spec']['type']}: only the Ingress lets traffic in")
    backends = {path["backend"]["service"]["name"] for ingress in by_kind.get("Ingress", [])
                for rule in ingress["spec"].get("rules", []) for path in rule.get("http", {}).get("paths", [])}
    if backends != {"gateway"}:
        fail(f"the Ingress sends traffic to {sorted(backends)}, not only to the gateway")

    # -- the custom resources and what the units expect of them ----------------------------------
    rabbit = [d for d in custom if d["kind"] == "RabbitmqCluster"]
    postgres = [d for d in custom if d["kind"] == "Cluster"]
    amqp_hosts, database_hosts, databases = set(), set(), set()
    for doc in workloads:
        for container in containers(pod_spec(doc)):
            if env_value(container, "AMQP_URI"):
                amqp_hosts.add(urlsplit(env_value(container, "AMQP_URI")).hostname)
            if env_value(container, "DATABASE_URL"):
                url = urlsplit(env_value(container, "DATABASE_URL"))
                database_hosts.add(url.hostname)
                databases.add(url.path.lstrip("/"))
    if len(rabbit) != 1:
        fail(f"{len(rabbit)} RabbitmqCluster resources, not 1")
    else:
        spec = rabbit[0]["spec"]
        if spec.get("replicas") != 3:
            fail(f"RabbitmqCluster has {spec.get('replicas')} replicas, not 3 (quorum queues need an odd count >= 3)")
        if not re.search(r"^\s*default_queue_type\s*=\s*quorum\s*$", (spec.get("rabbitmq") or {}).get("additionalConfig", ""), re.M):
            fail("RabbitmqCluster does not make quorum the default queue type")
        if amqp_hosts != {rabbit[0]["metadata"]["name"]}:
            fail(f"the units connect to RabbitMQ at {sorted(amqp_hosts)}, the operator's Service is {rabbit[0]['metadata']['name']}")
    if len(postgres) != 1:
        fail(f"{len(postgres)} CloudNativePG Cluster resources, not 1")
    else:
        cluster = postgres[0]
        name = cluster["metadata"]["name"]
        if cluster["spec"].get("instances", 1) < 3:
            fail(f"Cluster {name} has {cluster['spec'].get('instances', 1)} instances, fewer than 3")
        if database_hosts != {f"{name}-rw"}:
            fail(f"the units connect to PostgreSQL at {sorted(database_hosts)}, not the primary's Service {name}-rw")
        created = {((cluster["spec"].get("bootstrap") or {}).get("initdb") or {}).get("database")}
        created |= {d["spec"]["name"] for d in custom if d["kind"] == "Database" and d["spec"]["cluster"]["name"] == name}
        if not databases <= created:
            fail(f"databases {sorted(databases - created)} are neither bootstrapped nor declared (Database)")

    # -- Prometheus: kustomize loads no file outside deploy/k8s/base, so it generates the
    # ConfigMaps from copies there; what it rendered must be deploy/prometheus/'s files.
    sources = {"prometheus-config": {"prometheus.yml": ROOT / "deploy/prometheus/prometheus-k8s.yml"},
               "prometheus-rules": {p.name: p for p in sorted((ROOT / "deploy/prometheus/rules").glob("*.yml"))}}
    for name, files in sources.items():
        maps = [cm for cm in by_kind.get("ConfigMap", []) if cm["metadata"]["name"].rsplit("-", 1)[0] == name]
        data = (maps[0].get("data") or {}) if maps else {}
        stale = sorted(set(data) ^ set(files) | {key for key in set(data) & set(files) if data[key] != files[key].read_text()})
        if not maps or not files or stale:
            fail(f"ConfigMap {name} differs from deploy/prometheus/ in {stale or 'everything'}: copy "
                 "deploy/prometheus/prometheus-k8s.yml and rules/*.yml into deploy/k8s/base/prometheus/ "
                 "(and list new rule files in deploy/k8s/base/kustomization.yaml)")

    if failures == before:
        ok(f"rules: {len(UNITS)} units with probes on /healthz and /readyz, requests and limits, HPA and PDB, "
           "migration Jobs; secrets only by secretKeyRef; default deny; only the gateway behind the Ingress; "
           "RabbitMQ (3 replicas, quorum) and PostgreSQL (3 instances) where the units look for them; "
           "Prometheus configured from deploy/prometheus/")
    return min(failures, 100)


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
