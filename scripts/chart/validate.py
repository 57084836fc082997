"""The checks scripts/check-chart runs on one rendering of the chart: Kubernetes schemas,
the ServiceMonitor CRD's shape, and each component config against the binary."""

import os
import re
import subprocess
import tempfile

from . import render as chart

PLACEHOLDER = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}")

# Representative per-pod values for `--check`: what the downward API gives a pod.
POD_ENV = {"POD_IP": "10.244.1.7", "HOST_IP": "10.0.3.17"}
LOCALITY = {"STARLING_ZONE": "eu-west-1a", "STARLING_RACK": "r12"}


def kube_versions():
    """Every bundled schema version the chart supports (Chart.yaml kubeVersion >=1.29)."""
    from kubernetes_validate import utils
    from packaging.version import Version

    return [v for v in utils.all_versions() if Version(v) >= Version("1.29")]


def validate_schemas(manifests, versions):
    """Strict schema validation of every manifest for every version; CRDs apart."""
    from kubernetes_validate import utils

    failures, crds = [], []
    for template, doc in manifests:
        if doc.get("apiVersion") == "monitoring.coreos.com/v1":
            crds.append(doc)
            continue
        for version in versions:
            try:
                utils.validate(doc, version, strict=True)
            except utils.ValidationError as e:
                path = ".".join(str(p) for p in e.path)
                failures.append(f"{template}: {kind_name(doc)} (k8s {version}): {path}: {e.message}")
            except utils.SchemaNotFoundError as e:
                failures.append(f"{template}: {kind_name(doc)}: {e.message}")
    return failures, crds


def kind_name(doc):
    return f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"


def check_service_monitors(monitors, manifests):
    """A ServiceMonitor (a CRD with no bundled schema) must select a rendered Service by
    its labels and scrape a port that Service names."""
    failures = []
    services = [d for _, d in manifests if d.get("kind") == "Service"]
    for monitor in monitors:
        spec = monitor.get("spec", {})
        unknown = set(spec) - {"selector", "endpoints"}
        if unknown:
            failures.append(f"{kind_name(monitor)}: unexpected spec fields {sorted(unknown)}")
        wanted = spec.get("selector", {}).get("matchLabels", {})
        matches = [s for s in services if wanted.items() <= s["metadata"].get("labels", {}).items()]
        if len(matches) != 1:
            failures.append(f"{kind_name(monitor)}: selects {len(matches)} Services, not 1")
            continue
        ports = {p["name"] for p in matches[0]["spec"]["ports"]}
        for endpoint in spec.get("endpoints", []):
            if endpoint.get("port") not in ports or endpoint.get("path") != "/metrics":
                failures.append(f"{kind_name(monitor)}: endpoint {endpoint} is not a /metrics port of {kind_name(matches[0])}")
    return failures


def workloads_by_config(manifests):
    """{ConfigMap name: (workload, container env names, replicas)} for each pod template
    mounting a ConfigMap."""
    found = {}
    for _, doc in manifests:
        if doc.get("kind") not in ("Deployment", "StatefulSet", "DaemonSet"):
            continue
        pod = doc["spec"]["template"]["spec"]
        for volume in pod.get("volumes", []):
            if "configMap" in volume:
                env = {e["name"] for c in pod["containers"] for e in c.get("env", [])}
                found[volume["configMap"]["name"]] = (doc, env, doc["spec"].get("replicas", 1))
    return found


def check_configs(manifests, binary):
    """Every component config passes `starling <component> --check`, once per pod the
    workload runs (its POD_NAME), with the Secret's files where STARLING_SECRETS_DIR
    points and, for placeholders with a default, also without their variable. Every
    placeholder must be a variable the pod's container sets."""
    failures = []
    configs = chart.component_configs(manifests)
    workloads = workloads_by_config(manifests)
    names = {d["metadata"]["name"]: d for _, d in manifests if d.get("kind") == "ConfigMap"}
    with tempfile.TemporaryDirectory() as tmp:
        secrets = os.path.join(tmp, "secrets")
        os.makedirs(secrets)
        for name, data in chart.secret_files(manifests).items():
            with open(os.path.join(secrets, name), "wb") as f:
                f.write(data)
        for cm_name, cm in names.items():
            for key, text in cm.get("data", {}).items():
                component = key.removesuffix(".yaml")
                if component not in configs or cm_name not in workloads:
                    failures.append(f"ConfigMap/{cm_name}: {key} is mounted by no workload")
                    continue
                workload, env, replicas = workloads[cm_name]
                used = {m.group(1) for m in PLACEHOLDER.finditer(text)}
                for var in sorted(used - env):
                    failures.append(f"ConfigMap/{cm_name}: {key} uses ${{{var}}}, which {kind_name(workload)} does not set")
                path = os.path.join(tmp, f"{cm_name}.yaml")
                with open(path, "w") as f:
                    f.write(text)
                base = {"STARLING_SECRETS_DIR": secrets, **POD_ENV}
                pods = [f"{workload['metadata']['name']}-{k}" for k in range(int(replicas))]
                if workload["kind"] != "StatefulSet":
                    pods = [f"{workload['metadata']['name']}-7d9f8c6b5-x2x4q"]
                runs = [dict(base, POD_NAME=pod, **LOCALITY) for pod in pods]
                runs.append(dict(base, POD_NAME=pods[0]))
                for env_vars in runs:
                    failures += run_check(binary, component, path, env_vars)
    return failures


def run_check(binary, component, path, env_vars):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env_vars}
    result = subprocess.run(
        [binary, component, "--config", path, "--check"],
        env=env, capture_output=True, text=True, timeout=60,
    )
    if result.returncode != 0 or "OK" not in result.stdout:
        shown = {k: v for k, v in env_vars.items() if k != "STARLING_SECRETS_DIR"}
        return [f"starling {component} --check with {shown}: exit {result.returncode}: {result.stderr.strip()}"]
    return []
