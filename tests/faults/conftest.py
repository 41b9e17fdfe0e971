from tests.api.conftest import garage  # noqa: F401 - shared fixture
