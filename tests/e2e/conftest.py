import pytest


@pytest.fixture(autouse=True)
def _prefect(prefect_harness):
    """Every test here runs real flows against the shared Prefect test harness."""
