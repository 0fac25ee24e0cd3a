"""The context menu's choice (extension/background/menus.js, under Node): a media element playing
a ``blob:`` (MediaSource) or ``mediastream:`` address is demixed live from the tab where the
browser can capture tabs, instead of failing as an unreadable URL (issue #14 (e))."""

import json
import subprocess

from tests.node_tree import NODE, node_tree

SCRIPT = """
import { clickAction } from './extension/background/menus.js';
const cases = JSON.parse(process.argv[1]);
console.log(JSON.stringify(cases.map(([info, canCapture]) => clickAction(info, canCapture))));
"""


def actions(cases):
    out = subprocess.run([*NODE, "--input-type=module", "-e", SCRIPT, json.dumps(cases)], cwd=node_tree(),
                         check=True, capture_output=True, text=True)  # fmt: skip
    return json.loads(out.stdout)


def test_blob_media_offers_the_tab_capture_where_tabs_can_be_captured():
    blob = {"menuItemId": "demix-media", "srcUrl": "blob:https://video.example/4f1c"}
    stream = {"menuItemId": "demix-media", "srcUrl": "mediastream:1234"}
    plain = {"menuItemId": "demix-media", "srcUrl": "https://cdn.example/song.ogg"}
    link = {"menuItemId": "demix-link", "linkUrl": "https://cdn.example/song.mp3"}
    tab = {"menuItemId": "demix-tab"}
    assert actions([[blob, True], [stream, True], [plain, True], [link, True], [tab, True], [blob, False]]) == [
        {"kind": "live"},
        {"kind": "live"},
        {"kind": "url", "url": "https://cdn.example/song.ogg"},
        {"kind": "url", "url": "https://cdn.example/song.mp3"},
        {"kind": "live"},
        # Firefox: no tab capture; the URL job explains that a blob: address cannot be read.
        {"kind": "url", "url": "blob:https://video.example/4f1c"},
    ]
