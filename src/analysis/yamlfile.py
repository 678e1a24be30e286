"""YAML files people edit (round files, designs, mappings, actions, ``_quarto.yml``): read with
PyYAML's safe loader, except that a date which does not exist (``2026-29-05``) is a
``yaml.YAMLError`` naming its line, like any other mistake in the file, instead of a bare
``ValueError`` from deep inside the loader (which reached the user as a traceback).
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.constructor import ConstructorError

__all__ = ["Loader", "load"]


class Loader(yaml.SafeLoader):
    """``yaml.SafeLoader`` whose timestamps that are not real dates are errors with a mark."""

    def construct_yaml_timestamp(self, node: yaml.Node) -> Any:
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError as exc:
            raise ConstructorError(None, None, f"{node.value!r} is not a date ({exc}); write "
                                   "dates as YYYY-MM-DD", node.start_mark) from None


Loader.add_constructor("tag:yaml.org,2002:timestamp", Loader.construct_yaml_timestamp)


def load(text: str) -> Any:
    """The YAML document ``text``, as ``yaml.safe_load`` reads it (see the module docstring)."""
    return yaml.load(text, Loader=Loader)  # noqa: S506 - a SafeLoader subclass
