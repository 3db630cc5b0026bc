"""Cross-border sales: the Alibaba.com International Station (ICBU) Open Platform.

``client`` is the signed async HTTP client for the IOP gateway (``/rest{path}`` and ``/sync``);
the listing sync built on top of it talks to the client only, and tests run it against the local
fake gateway in ``tests/fixtures/fake_icbu.py``. See ``/work/shared/reference/alibaba-icbu.md``.
"""
