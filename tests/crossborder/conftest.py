"""The fake ICBU gateway fixtures (``fake_icbu``, ``fake_icbu_server``) for the crossborder tests."""

from tests.fixtures.fake_icbu import fake_icbu_fixture, fake_icbu_server_fixture  # noqa: F401
