"""No import cycles among the Python modules (scripts/import_cycles.py, also run by `make check`);
the JS side has ESLint's `import/no-cycle`."""

import importlib.util

from tests.conftest import ROOT

_spec = importlib.util.spec_from_file_location("import_cycles", ROOT / "scripts" / "import_cycles.py")
import_cycles = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(import_cycles)


def test_no_python_import_cycles():
    assert import_cycles.cycles(import_graph := import_cycles.import_graph()) == []
    assert "models.catalog" in import_graph["builder.families.base"]  # the graph sees real imports


def test_the_check_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert import_cycles.cycles(graph) == [["a", "b", "c"]]
