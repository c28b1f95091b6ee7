"""The Train page's architecture block (`edit_architecture`): presets, layers to add / remove /
reorder with their settings, the spec text in the URL (?arch=...), the live layer table, an
impossible net explained with fixes, and the net as PyTorch code.

state.py (layers, text, preset, URL loading, whole-net callbacks), layer_rows.py (each layer's
settings and buttons, adding), table.py (the table and its arithmetic), editor.py (the block).
"""

from cnnviz.ui.arch_editor.editor import edit_architecture

__all__ = ["edit_architecture"]
