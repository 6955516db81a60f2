"""Reading and writing graph files: what the rankcore command and the distributed launcher share (the
library never imports the command).

Reading: :func:`load_graph` turns a GRAPH argument (a built-in name, a dataset name, an edge list, a scipy
``.npz`` or a ``.pt``) into an input every graph function accepts; :func:`read_edge_list_file` is the native
parser with ids checked per line; :func:`relabel_ids` / :func:`dense_ids` map arbitrary ids densely;
:func:`read_partitions` reads partition files. Errors are :class:`GraphFileError` (a ``ValueError``), one line
naming the file (and line).

Writing:

* :func:`atomic_output`: a file is written to a temporary file beside the target and renamed over it
  only once complete, so a full disk, Ctrl-C or a crash never leaves a truncated file under a header that
  claims the full count, and an existing file is never half-overwritten.
* :func:`format_pairs` / :func:`pair_blocks` (streamed): "u<sep>v" lines of an int64 ``[2, m]`` tensor (any int64, negative ids included),
  vectorised.
* :func:`write_npz`: the scipy sparse adjacency of a column list, multiplicities as int64 counts (a
  column listed 256 times is a count of 256, never an int8 that wraps to 0).
* :func:`check_output_path` / :func:`write_sparsified`: the rankcore sparsify output rules.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import numpy as np
import torch

from .graph.arguments import MAX_NODES, parse_int

__all__ = ["GraphFileError", "MAX_DENSE_ID", "AtomicFile", "atomic_output", "check_output_path", "dense_ids",
           "edge_list_header", "format_pairs", "pair_blocks", "load_dataset", "load_graph", "read_edge_list_file", "read_partitions", "relabel_ids",
           "require_module", "same_file", "write_npz", "write_sparsified"]


class GraphFileError(ValueError):
    """A graph, partition or output file that cannot be used: one line naming the file (and line)."""


def same_file(a, b) -> bool:
    """True when paths ``a`` and ``b`` name the same existing file (also through links)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _new_file_mode(target: Path) -> int:
    """The permissions the target would get from a plain ``open``: its own when it exists, else 0666 less
    the umask (``mkstemp`` creates 0600)."""
    try:
        return target.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


class AtomicFile:
    """A temporary file beside ``path`` (same folder, same suffix, so writers that append a suffix keep it):
    write it through ``.tmp``, then :meth:`commit` renames it over ``path`` in one step, or :meth:`discard`
    removes it and leaves ``path`` untouched. For writes that cannot sit in one ``with`` block (the
    distributed writer agrees on errors between its steps); :func:`atomic_output` otherwise. ``durable``: the
    data reach the disk (fsync) before the rename does, so a crash cannot leave the new name on empty data
    (caches that are trusted on the next run want it; large outputs skip the cost)."""

    def __init__(self, path, durable: bool = False):
        self.target, self.durable = Path(path), durable
        fd, self.tmp = tempfile.mkstemp(prefix=f".{self.target.name}.", suffix=f".tmp{self.target.suffix}",
                                        dir=self.target.parent)
        os.close(fd)

    def commit(self) -> None:
        try:
            if self.durable:
                fd = os.open(self.tmp, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
            os.chmod(self.tmp, _new_file_mode(self.target))
            os.replace(self.tmp, self.target)
        except BaseException:
            self.discard()
            raise

    def discard(self) -> None:
        with contextlib.suppress(OSError):
            os.unlink(self.tmp)


@contextlib.contextmanager
def atomic_output(path, durable: bool = False):
    """``with atomic_output(path) as tmp:`` write the whole file to ``tmp``; on a clean exit it replaces
    ``path`` in one rename, on any exception (KeyboardInterrupt included) it is removed and ``path`` is
    untouched (``durable``: as :class:`AtomicFile`)."""
    out = AtomicFile(path, durable)
    try:
        yield out.tmp
    except BaseException:
        out.discard()
        raise
    out.commit()


def format_pairs(a: torch.Tensor, sep: bytes, block: int = 1 << 20) -> bytes:
    """Lines "u<sep>v\\n" for the columns of an int64 ``[2, m]`` tensor (:func:`pair_blocks` joined)."""
    return b"".join(pair_blocks(a, sep, block))


def pair_blocks(a: torch.Tensor, sep: bytes, block: int = 1 << 20):
    """The lines of :func:`format_pairs`, ``block`` columns at a time (write them as they come: the whole text of
    10^8 edges is gigabytes). Vectorised: numpy digit arithmetic on the magnitudes + a mask over a fixed-width
    byte matrix; no per-edge Python."""
    arr = a.numpy()
    m = arr.shape[1]
    if m == 0:
        return
    signed = bool((arr < 0).any())
    if signed:  # magnitudes as uint64 (|-2^63| does not fit int64) and a sign column before the digits
        neg = arr < 0
        mag = np.where(neg, (~arr.astype(np.uint64)) + np.uint64(1), arr.astype(np.uint64))
    else:  # the common case stays in int64 arithmetic, which numpy divides faster
        mag = arr
    width = max(1, len(str(int(mag.max()))))
    pow10 = np.array([10**e for e in range(width - 1, -1, -1)], dtype=mag.dtype)
    field = width + signed
    for lo in range(0, m, block):
        k = min(block, m - lo)
        mat = np.empty((k, 2 * field + 2), dtype=np.uint8)
        keep = np.ones(mat.shape, dtype=bool)
        for r, off in ((0, 0), (1, field + 1)):
            x = mag[r, lo:lo + k][:, None]
            if signed:
                mat[:, off] = ord("-")
                keep[:, off] = neg[r, lo:lo + k]
            digits = slice(off + signed, off + field)
            mat[:, digits] = (x // pow10) % 10 + 48
            keep[:, digits] = ~((x < pow10) & (pow10 > 1))  # leading zeros dropped
        mat[:, field] = sep[0]
        mat[:, -1] = 10
        yield mat[keep].tobytes()


def edge_list_header(method: str, num_nodes: int, columns: int) -> bytes:
    """The first line of a sparsified edge-list file (the single-process and the distributed writer)."""
    return f"# {method} sparsification: {num_nodes} vertices, {columns} edge columns kept\n".encode()


def write_npz(path, edge_index: torch.Tensor, num_nodes: int) -> None:
    """``scipy.sparse.save_npz(path, ...)`` of the ``num_nodes``-square adjacency of the columns of
    ``edge_index`` (int64 values: how often each column appears). Writes ``path`` directly: callers pass
    the temporary file of :func:`atomic_output` / :class:`AtomicFile`."""
    import scipy.sparse

    counts = np.ones(edge_index.shape[1], dtype=np.int64)
    mat = scipy.sparse.coo_matrix((counts, (edge_index[0].numpy(), edge_index[1].numpy())),
                                  shape=(num_nodes, num_nodes)).tocsr()
    scipy.sparse.save_npz(path, mat)


# --- reading ------------------------------------------------------------------------------------------------

# Without --relabel, vertex ids are array positions: at most MAX_NODES vertices, ids 0..MAX_NODES - 1.
MAX_DENSE_ID = MAX_NODES - 1


def load_graph(spec: str | None, root: str | None = None, relabel: bool = False):
    """GRAPH argument -> (name, edge_index or graph object, num_nodes or None, default partition or None).
    Edge-list ids are checked per line (with ``file:line`` in the error) unless ``relabel``."""
    from . import datasets

    if spec is None or spec in datasets.BUILTIN:
        g = datasets.BUILTIN[spec or "karate"]()
        return g.name, g.edge_index, g.num_nodes, g.communities
    path = Path(spec)
    # a folder is never a graph file: "Cora" run inside a Planetoid root (which holds Cora/) names the dataset
    if (not path.exists() or path.is_dir()) and datasets.canonical_name(spec) in datasets.NAMES:
        return spec, load_dataset(spec, root), None, None
    if not path.exists():
        known = ", ".join(sorted(set(datasets.BUILTIN) | set(datasets.NAMES)))
        raise GraphFileError(f"no such graph file or built-in graph: {spec!r} (built-ins and datasets: {known})")
    require_regular_file(path, "graph")
    suffix = path.suffix.lower()
    try:
        if suffix in (".txt", ".csv", ".tsv", ".edges", ".el"):
            return path.name, read_edge_list_file(path, None if relabel else MAX_DENSE_ID), None, None
        if suffix == ".npz":
            import scipy.sparse

            return path.name, scipy.sparse.load_npz(path), None, None
        if suffix == ".pt":
            return (path.name, *_graph_from_pt(_load_pt(path, spec)), None)
    except GraphFileError:
        raise
    except Exception as err:  # unreadable file: report it, no traceback
        raise GraphFileError(f"could not read {spec}: {err}") from None
    raise GraphFileError(f"unknown graph format {suffix!r} for {spec} (expected .txt/.csv edge list, .npz or .pt)")


def require_regular_file(path: Path, what: str) -> None:
    """A directory, FIFO or device as an input file is a one-line error (a FIFO would block the read)."""
    if path.is_dir():
        raise GraphFileError(f"{what} file {path} is a directory")
    if not path.is_file():
        raise GraphFileError(f"{what} file {path} is not a regular file (a FIFO, socket or device)")


def _pyg_safe_globals() -> list:
    """The classes a pickled PyG ``Data`` needs (none when torch_geometric is not installed)."""
    try:
        import torch_geometric.data.data as pyg_data
        import torch_geometric.data.storage as pyg_storage
    except ImportError:
        return []
    return [pyg_data.Data, pyg_data.DataEdgeAttr, pyg_data.DataTensorAttr, pyg_storage.BaseStorage,
            pyg_storage.GlobalStorage, pyg_storage.NodeStorage, pyg_storage.EdgeStorage]


def _load_pt(path: Path, spec: str):
    """``torch.load`` with ``weights_only=True`` (a .pt file is a pickle: loading one without that would
    run whatever code it names); tensors, plain containers and PyG ``Data`` are allowed, nothing else."""
    import pickle

    try:
        with torch.serialization.safe_globals(_pyg_safe_globals()):
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        if "GLOBAL" not in str(err):  # a corrupt file, not one naming code to run
            raise GraphFileError(f"could not read {spec}: not a torch .pt file (or a damaged one)") from None
        named = str(err).split("GLOBAL", 1)[1].split()[0]
        raise GraphFileError(f"refusing to load {spec}: it is not a plain tensor / dict / PyG Data file (it names "
                             f"{named}); rankcore loads .pt files with weights_only=True") from None


def _graph_from_pt(obj):
    """(graph, num_nodes) from a loaded .pt: an edge_index tensor, a PyG Data, or a dict with an
    ``edge_index`` (and optionally ``num_nodes``), as ``rankcore sparsify -o out.pt`` writes."""
    if isinstance(obj, dict):
        if "edge_index" not in obj:
            raise GraphFileError(f"a .pt dict must hold an 'edge_index' tensor, got keys {sorted(map(str, obj))}")
        num_nodes = obj.get("num_nodes")
        if isinstance(num_nodes, torch.Tensor) and num_nodes.numel() == 1 and not num_nodes.is_floating_point() \
                and num_nodes.dtype != torch.bool:  # int() read a True tensor as 1 vertex
            num_nodes = int(num_nodes)
        if num_nodes is not None and (isinstance(num_nodes, bool) or not isinstance(num_nodes, (int, np.integer))):
            # int() truncated 5.7 to 5 vertices
            raise GraphFileError(f"a .pt dict's 'num_nodes' must be an int, got {num_nodes!r}")
        return obj["edge_index"], (int(num_nodes) if num_nodes is not None else None)
    if isinstance(obj, torch.Tensor) or hasattr(obj, "edge_index"):
        return obj, None
    raise GraphFileError(f"a .pt graph must hold an edge_index tensor, a PyG Data or a dict with 'edge_index', "
                         f"got {type(obj).__name__}")


def load_dataset(name: str, root: str | None):
    from . import datasets

    try:
        return datasets.load(name, root)
    except RuntimeError as err:  # torch_geometric missing
        raise GraphFileError(str(err)) from None
    except (OSError, ImportError) as err:  # no files, no network, unreadable cache
        raise GraphFileError(f"could not load dataset {name!r}: {err}") from None


def read_edge_list_file(path: Path, max_id: int | None) -> torch.Tensor:
    """The native parser (rankcore::read_edge_list: parallel chunks split at line ends; SNAP '#' comments
    anywhere, an optional text header, whitespace or comma separators; ids in [0, max_id] unless None),
    with a progress bar on files over 256 MB. Malformed lines are one-line errors "path:line: ..."."""
    from . import ops

    size = path.stat().st_size
    if size < 256 << 20:
        try:
            ei = ops.read_edge_list(str(path), max_id=max_id)
        except ValueError as err:
            raise GraphFileError(str(err)) from None
    else:
        from .graph.progress import progress_reporter, run_cancellable

        report, close = progress_reporter(True, size, unit="B", desc=f"reading {path.name}", unit_scale=True)
        try:
            ei = run_cancellable(lambda slot: ops.read_edge_list(str(path), slot, max_id=max_id), report)
        except ValueError as err:
            raise GraphFileError(str(err)) from None
        finally:
            close()
    if ei.shape[1] == 0:
        raise GraphFileError(f"{path}: no edges found (expected one edge 'u v' per line; '#' starts a comment)")
    return ei


def relabel_ids(graph_input):
    """--relabel: (dense edge_index, ids) with ids[i] the original id of vertex i; sort-based (never
    allocates by the largest id)."""
    columns = getattr(graph_input, "edge_index", graph_input)
    if not isinstance(columns, torch.Tensor):
        raise GraphFileError("--relabel needs an edge list or an edge_index (.txt/.csv/.pt) graph")
    ids, inverse = torch.unique(columns.to(torch.int64), return_inverse=True)
    return inverse.reshape(columns.shape), ids


def dense_ids(values: torch.Tensor, ids: torch.Tensor | None) -> torch.Tensor:
    """Original vertex ids -> dense ids through the --relabel map (sorted ``ids``); -1 where an id is not a
    vertex of the graph. Without a map the ids are the dense ids already."""
    if ids is None:
        return values
    pos = torch.searchsorted(ids, values).clamp_max(max(ids.numel() - 1, 0))
    found = ids.numel() > 0 and ids[pos] == values
    return torch.where(found, pos, torch.full_like(values, -1))


def read_partitions(path: str, n: int, ids: torch.Tensor | None = None) -> list[torch.Tensor]:
    """One partition per line: the vertex ids of I, separated by spaces or commas (original ids, mapped
    through ``ids`` under --relabel)."""
    p = Path(path)
    if not p.exists():
        raise GraphFileError(f"no such partition file: {path}")
    require_regular_file(p, "partition")
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise GraphFileError(f"could not read partition file {path}: {err}") from None
    masks = []
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].replace(",", " ").strip()
        if not line:
            continue
        mask = torch.zeros(n, dtype=torch.bool)
        for field in line.split():
            try:  # not int(): it read "1_0" as vertex 10, "+1" and "١" as vertex 1
                v = parse_int(field, f"{path}:{lineno}: vertex id")
            except ValueError as err:
                raise GraphFileError(str(err)) from None
            dense = int(dense_ids(torch.tensor([v]), ids)[0]) if -2**63 <= v < 2**63 else -1
            if ids is not None and dense < 0:
                raise GraphFileError(f"{path}:{lineno}: vertex {v} is not a vertex of the graph (ids are the "
                                     f"file's original ids under --relabel)")
            if not 0 <= dense < n:
                raise GraphFileError(f"{path}:{lineno}: vertex {v} is outside [0, {n})")
            mask[dense] = True
        masks.append(mask)
    if not masks:
        raise GraphFileError(f"{path}: no partition found (one line per partition: the vertex ids of I)")
    return masks


def require_module(module: str, what: str) -> None:
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise GraphFileError(f"{what} needs {module} (pip install {module})")


def check_output_path(path: str, graph_spec: str | None = None) -> None:
    """A known suffix, an existing writable folder, not the input file, and the writer's dependency present."""
    out = Path(path)
    if graph_spec is not None and same_file(out, graph_spec):
        raise GraphFileError(f"refusing to write the output over the input file {graph_spec} (-o {path})")
    if graph_spec is not None and same_file(f"{out}.ids.txt", graph_spec):  # --relabel's id map beside the output
        raise GraphFileError(f"refusing -o {path}: its vertex id map {path}.ids.txt would overwrite the input file "
                             f"{graph_spec}")
    if out.is_dir():
        raise GraphFileError(f"output {path} is a directory")
    suffix = out.suffix.lower()
    if suffix not in (".pt", ".txt", ".csv", ".npz"):
        raise GraphFileError(f"unknown output format {suffix!r} for {path} (expected .pt, .txt, .csv or .npz)")
    folder = out.parent
    if not folder.is_dir():
        raise GraphFileError(f"output folder {folder} does not exist")
    if not os.access(folder, os.W_OK) or (out.exists() and not os.access(out, os.W_OK)):
        raise GraphFileError(f"cannot write {path}: permission denied")
    if suffix == ".npz":
        require_module("scipy", "writing .npz")


def write_sparsified(path: str, graph_input, result, num_nodes: int, meta: dict) -> None:
    """Writes the sparsified graph in the format the suffix names; every file goes to a temporary file
    first and replaces ``path`` only once complete (rankcore.io.AtomicFile). Under --relabel the id map
    ``path.ids.txt`` is written too, and both are renamed into place only once both are complete (the map
    first): a failed write never leaves a relabelled output without its map, or beside an earlier run's."""
    check_output_path(path)
    out = Path(path)
    suffix = out.suffix.lower()
    kept = result.edge_index.cpu()
    ids = meta.get("ids") if suffix != ".pt" else None  # a .pt holds its ids itself
    files = []
    try:
        files.append(AtomicFile(out))
        if suffix == ".pt":
            if hasattr(graph_input, "edge_index") and not isinstance(graph_input, torch.Tensor) \
                    and hasattr(graph_input, "is_edge_attr"):
                from .pyg import apply_keep_mask  # a PyG Data in, a PyG Data out (edge attributes aligned)

                obj = apply_keep_mask(graph_input, result.keep_mask)
            else:
                obj = {"edge_index": kept, "num_nodes": num_nodes, "removed": result.removed.cpu(),
                       "keep_mask": result.keep_mask.cpu(), **meta}
            torch.save(obj, files[0].tmp)
        elif suffix == ".npz":
            write_npz(files[0].tmp, kept, num_nodes)
        else:
            sep = b"," if suffix == ".csv" else b" "
            with open(files[0].tmp, "wb") as f:
                f.write(edge_list_header(meta["method"], num_nodes, kept.shape[1]))
                f.writelines(pair_blocks(kept, sep))
        if ids is not None:  # --relabel: the id map next to the output
            files.append(AtomicFile(f"{out}.ids.txt"))
            with open(files[1].tmp, "wb") as f:
                f.write(b"# vertex original_id\n")
                f.writelines(pair_blocks(torch.stack([torch.arange(ids.numel()), ids.cpu()]), b" "))
        for file in reversed(files):  # the map first: the output is replaced only once its map is in place
            file.commit()
        files = []
    except OSError as err:
        raise GraphFileError(f"could not write {path}: {err.strerror or err}") from None
    finally:
        for file in files:  # a failure (Ctrl-C included): no temporary file left, no target replaced
            file.discard()
