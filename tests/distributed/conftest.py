import shutil
import tempfile

import pytest
import shared_group

_work = None


def _get_work() -> shared_group.Work:
    global _work
    if _work is None:
        _work = shared_group.Work(tempfile.mkdtemp(prefix="rankcore_test_spawns_"))
    return _work


def pytest_collection_finish(session):
    """Start the shared groups and the jobs the collected tests need, in the background (shared_group.py)."""
    keys = []
    if any("rank_results" in getattr(item, "fixturenames", ()) for item in session.items):
        keys += [("group", world_size) for world_size in sorted(shared_group.TASKS)]
    names = {getattr(item, "originalname", item.name) for item in session.items}
    keys += [("job", name) for name, (test, _, _) in shared_group.JOBS.items() if test in names]
    if keys:
        _get_work().start(keys)


def pytest_sessionfinish(session):
    if _work is not None:
        _work.stop()
        shutil.rmtree(_work.folder, ignore_errors=True)


@pytest.fixture(scope="session")
def rank_results():
    """``rank_results(world_size, name)``: the per-rank return values of the function registered as
    ``name`` for ``world_size`` (shared_group.py), from the session's one spawn of that world size."""
    def results(world_size: int, name: str) -> list:
        try:
            got = _get_work().result(("group", world_size))
        except Exception as err:  # noqa: BLE001 - every test of this world size reports it
            pytest.fail(f"the shared {world_size}-process group failed: {type(err).__name__}: {err}")
        per_rank = [res[name] for res in got]
        for rank, (status, value) in enumerate(per_rank):
            if status == "error":
                pytest.fail(f"{name} raised on rank {rank} of {world_size}:\n{value}")
        return [value for _, value in per_rank]

    return results


@pytest.fixture(scope="session")
def job_result():
    """``job_result(name)``: what the job registered as ``name`` (shared_group.job) returned; what it raised
    is raised again."""
    return lambda name: _get_work().result(("job", name))
