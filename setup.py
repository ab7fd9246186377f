"""The wheel's packages and data files, found rather than listed, so that a new protocol folder
(edge/connectors/<name>/, with its README, sample and cases) or a new recipe ships without an
edit here or in pyproject.toml (which holds everything else about the package)."""

from setuptools import find_namespace_packages, setup

#: pyproject.toml's package-dir: `edge/` is `fieldlab`, the other folders are mapped under it
ROOTS = {
    "fieldlab": "edge",
    "fieldlab.simulators": "simulators",
    "fieldlab.dashboards": "dashboards",
    "fieldlab.bench": "bench",
    "fieldlab.recipes": "recipes",
}
#: the files beside the code that the commands read (configs, cases, READMEs, catalogs, keys)
DATA = ["*.yaml", "*.md", "*.json", "*.po", "*.mo"]


def packages() -> list[str]:
    found = []
    for name, folder in ROOTS.items():
        found.append(name)
        for sub in find_namespace_packages(folder, exclude=["*__pycache__*"]):
            if all(part.isidentifier() for part in sub.split(".")):
                found.append(f"{name}.{sub}")
    # a folder mapped under another root (edge/ holds no simulators/) is that root's
    return sorted(set(found))


setup(
    packages=packages(),
    # data in every package; recipe folders whose names are not identifiers (eerste-stap) are
    # no packages: their files are the recipes package's
    package_data={"": DATA, "fieldlab.recipes": [f"*/{p}" for p in DATA]},
)
