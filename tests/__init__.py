"""The test suite. Helpers shared by tests live in tests/support/; their own asserts are
rewritten by pytest like the tests' (registered here, before anything imports them)."""

import pytest

pytest.register_assert_rewrite("tests.support")
