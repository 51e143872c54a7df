"""Package version (single source, read by pyproject).

>>> __version__.count(".") >= 1
True
"""

__version__ = "0.1.0"
