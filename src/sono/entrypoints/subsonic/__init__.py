"""The Subsonic API (1.16.1, with the OpenSubsonic additions) as a protocol layer: pure modules
with no I/O and no dependency on the core, so the second entrypoint can be wired over the same
use cases as the JSON API without the protocol's rules leaking into them.

- ``errors``: the protocol's error codes, their messages and the exception that carries them.
- ``model``: a declarative description of each response element (the 1.16.1 XSD's attributes and
  child elements, in its order), and the one serializer that makes both JSON and XML from it.
- ``shapes``: the descriptions of the elements Sono answers with.
- ``response``: the ``subsonic-response`` envelope in XML, JSON or JSONP.
- ``request``: the parsed request (method from the path, GET and form-POST parameters, ``v``,
  ``c``, ``f``, ``callback``).
- ``auth``: which authentication mechanism a request uses, or the error it gets, and the checks of
  a presented password or token against a candidate secret.
- ``ids``: the prefixed string ids (``tr-``, ``al-``, ``ar-``, ``pl-``, ``cv-...``).
"""
