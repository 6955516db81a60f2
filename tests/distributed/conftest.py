import background
import pytest


@pytest.fixture(scope="session")
def rank_results():
    """``rank_results(world_size, name)``: the per-rank return values of the function registered as
    ``name`` for ``world_size`` (shared_group.py), from the session's one spawn of that world size."""
    def results(world_size: int, name: str) -> list:
        try:
            got = background.result(f"the shared {world_size}-process group")
        except Exception as err:  # noqa: BLE001 - every test of this world size reports it
            pytest.fail(f"the shared {world_size}-process group failed: {type(err).__name__}: {err}")
        per_rank = [res[name] for res in got]
        for rank, (status, value) in enumerate(per_rank):
            if status == "error":
                pytest.fail(f"{name} raised on rank {rank} of {world_size}:\n{value}")
        return [value for _, value in per_rank]

    return results
