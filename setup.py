"""Package discovery that pyproject.toml cannot express (everything else is in pyproject.toml).

Every ``aagcn_lab*`` package is found as pyproject's ``packages.find`` would, plus one that lives outside
``aagcn_lab/``: the numbered notebooks stay in ``notebooks/`` (the repository's paths) and ship as the
package ``aagcn_lab.notebooks``, in a wheel and in an editable install alike (``aagcn-lab notebooks DEST``
copies them). Their files are package data (pyproject.toml: ``[tool.setuptools.package-data]``).
"""

from pathlib import Path

from setuptools import find_namespace_packages, setup

HERE = Path(__file__).resolve().parent
PACKAGES = [*find_namespace_packages(where=str(HERE), include=["aagcn_lab", "aagcn_lab.*"]), "aagcn_lab.notebooks"]

setup(packages=PACKAGES, package_dir={"aagcn_lab.notebooks": "notebooks"})
