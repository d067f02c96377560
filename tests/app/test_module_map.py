"""The module map in app/__init__.py's docstring names every module of app/, and only those."""

import re
from pathlib import Path

import app

APP_DIR = Path(app.__file__).parent
# A map line: four spaces, a module file or a package folder, then what it is.
MAP_ENTRY = re.compile(r"^    ([a-z_]+(?:\.py|/))\s+\S", re.MULTILINE)


def modules_in_the_map() -> set[str]:
    return set(MAP_ENTRY.findall(app.__doc__ or ""))


def modules_on_disk() -> set[str]:
    files = {path.name for path in APP_DIR.glob("*.py") if path.name != "__init__.py"}
    packages = {f"{path.parent.name}/" for path in APP_DIR.glob("*/__init__.py")}
    return files | packages


def test_the_map_names_every_module_of_the_app():
    assert modules_on_disk(), "no modules found: the check would prove nothing"
    assert modules_on_disk() - modules_in_the_map() == set()


def test_the_map_names_no_module_that_is_gone():
    assert modules_in_the_map() - modules_on_disk() == set()
