"""Shared fixtures: project paths and the demo sites served on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sitefarm import DEMO, serving


@pytest.fixture(scope="session")
def demo_server() -> Iterator[object]:
    """The bundled demo sites (demo/) on a free 127.0.0.1 port."""
    with serving(DEMO) as server:
        yield server
