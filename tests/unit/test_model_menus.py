"""The context menu's "Demix with…" submenu (extension/background/menus.js, under Node): offered only
when models were imported, one child per model (the bundled one first), and a click names the model."""

import json
import subprocess

from tests.node_tree import NODE, node_tree

SCRIPT = """
import { clickAction, menuItems } from './extension/background/menus.js';
const [models, clicks] = JSON.parse(process.argv[1]);
const options = { canCaptureTabs: false, withTitle: 'Demix with', builtinTitle: 'Built-in' };
console.log(JSON.stringify({
  none: menuItems([], options).map((m) => m.id),
  some: menuItems(models, options).map((m) => [m.id, m.parentId ?? null, m.title]),
  clicks: clicks.map((info) => clickAction(info, false)),
}));
"""


def run(models, clicks):
    out = subprocess.run([*NODE, "--input-type=module", "-e", SCRIPT, json.dumps([models, clicks])], cwd=node_tree(),
                         check=True, capture_output=True, text=True)  # fmt: skip
    return json.loads(out.stdout)


def test_demix_with_lists_the_models_and_a_click_names_one():
    model = {"id": "spleeter-4stems-fp32-0123", "title": "spleeter-4stems (fp32)"}
    url = "https://cdn.example/song.ogg"
    result = run([model], [
        {"menuItemId": "demix-media", "srcUrl": url},
        {"menuItemId": f"demix-media/with/{model['id']}", "srcUrl": url},
        {"menuItemId": "demix-link/with/builtin", "linkUrl": url},
    ])  # fmt: skip
    assert result["none"] == ["demix-media", "demix-link"]
    submenu = [item for item in result["some"] if item[1] == "demix-media/with"]
    assert submenu == [["demix-media/with/builtin", "demix-media/with", "Built-in"],
                       [f"demix-media/with/{model['id']}", "demix-media/with", model["title"]]]  # fmt: skip
    assert ["demix-link/with", None, "Demix with"] in result["some"]
    assert result["clicks"] == [{"kind": "url", "url": url}, {"kind": "url", "url": url, "modelId": model["id"]},
                                {"kind": "url", "url": url, "modelId": ""}]  # fmt: skip
