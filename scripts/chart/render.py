"""Offline rendering of charts/starling with Helm's SDK (helm-python-sdk), shared by
scripts/check-chart and scripts/render-chart.

Pinned versions: PACKAGES is what ensure_packages() installs with pip when an import
fails, so a clean clone needs nothing but python3 and pip.
"""

import base64
import importlib
import os
import subprocess
import sys

PACKAGES = ["helm-python-sdk==0.2.2", "kubernetes-validate==1.37.0", "PyYAML>=6,<7"]

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHART = os.path.join(REPO, "charts", "starling")

# The component each ConfigMap key configures, as `starling <component>` names it.
COMPONENTS = ["origin", "tracker", "build-index", "proxy", "agent"]


def ensure_packages():
    """Imports the pinned packages, installing them first when missing."""
    try:
        for module in ("helm_python", "kubernetes_validate", "yaml"):
            importlib.import_module(module)
    except ImportError:
        print("installing " + " ".join(PACKAGES), file=sys.stderr)
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", *PACKAGES], check=True
        )
        importlib.invalidate_caches()


def load_values(files, sets):
    """Values from YAML files, then `--set` expressions, merged as helm does."""
    import helm_python as helm
    import yaml

    values = {}
    for path in files:
        with open(path) as f:
            merge(values, yaml.safe_load(f) or {})
    for expression in sets:
        merge(values, helm.parse_set_string(expression))
    return values


def merge(into, extra):
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            merge(into[key], value)
        else:
            into[key] = value


def render(values, release="starling", namespace="starling"):
    """Every rendered manifest as a list of dicts (empty documents dropped)."""
    import helm_python as helm
    import yaml

    with helm.Chart.load(CHART) as chart:
        rendered = chart.render(values, name=release, namespace=namespace, is_install=True)
    manifests = []
    for template, text in sorted(rendered.items()):
        if template.endswith("NOTES.txt"):
            continue
        for doc in yaml.safe_load_all(text):
            if doc:
                manifests.append((template, doc))
    return manifests


def component_configs(manifests):
    """{component: config text} from the ConfigMaps."""
    configs = {}
    for _, doc in manifests:
        if doc.get("kind") != "ConfigMap":
            continue
        for key, text in (doc.get("data") or {}).items():
            component = key.removesuffix(".yaml")
            if component in COMPONENTS:
                configs[component] = text
    missing = set(COMPONENTS) - set(configs)
    if missing:
        raise SystemExit("no ConfigMap holds the config of " + ", ".join(sorted(missing)))
    return configs


def secret_files(manifests):
    """{file name: bytes} of the chart's credentials Secret (empty without one)."""
    files = {}
    for _, doc in manifests:
        if doc.get("kind") == "Secret":
            for name, value in (doc.get("data") or {}).items():
                files[name] = base64.b64decode(value)
    return files
