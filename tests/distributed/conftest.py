import pytest
import shared_group


@pytest.fixture(scope="session")
def rank_results(tmp_path_factory):
    """``rank_results(world_size, name)``: the per-rank return values of the function registered as
    ``name`` for ``world_size`` (shared_group.py), from the session's one spawn of that world size."""
    groups = {}

    def results(world_size: int, name: str) -> list:
        if world_size not in groups:
            try:
                groups[world_size] = shared_group.spawn(world_size, tmp_path_factory.mktemp(f"world{world_size}"))
            except Exception as err:  # noqa: BLE001 - every test of this world size reports it
                groups[world_size] = err
        got = groups[world_size]
        if isinstance(got, Exception):
            pytest.fail(f"the shared {world_size}-process group failed: {type(got).__name__}: {got}")
        per_rank = [res[name] for res in got]
        for rank, (status, value) in enumerate(per_rank):
            if status == "error":
                pytest.fail(f"{name} raised on rank {rank} of {world_size}:\n{value}")
        return [value for _, value in per_rank]

    return results
