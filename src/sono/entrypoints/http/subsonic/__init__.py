"""The Subsonic API as a second entrypoint over the core, served by the same HTTP application as
the JSON API: ``endpoint`` (the ``/rest`` route: parsing, authentication, errors), ``methods``
(each Subsonic method onto the use cases) and ``mapping`` (Sono's objects as Subsonic shapes). The
protocol itself (parameters, envelope, codes, ids) is the pure ``sono.entrypoints.subsonic``."""

from sono.entrypoints.http.subsonic import library as _library  # registers the methods
from sono.entrypoints.http.subsonic import methods as _methods
from sono.entrypoints.http.subsonic.endpoint import METHODS, rest

__all__ = ["METHODS", "rest"]
del _library, _methods
