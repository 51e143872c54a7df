"""Version of the recommender instrumentation (released with heritage-otel).

>>> from heritage_otel.version import __version__ as package_version
>>> __version__ == package_version
True
"""

from heritage_otel.version import __version__

__all__ = ["__version__"]
