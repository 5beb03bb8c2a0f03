"""The numbered course notebooks, shipped with the package as ``aagcn_lab.notebooks``.

pyproject.toml maps this folder to that package (a wheel holds the notebooks under
``aagcn_lab/notebooks/``; an editable install finds them here). ``aagcn-lab notebooks DEST`` copies
them into a folder of your own; ``aagcn_lab.lab.notebooks_dir()`` says where they are.
"""
