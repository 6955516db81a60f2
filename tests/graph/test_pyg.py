"""rankcore.pyg transforms: per-edge attributes stay aligned, the input is untouched, Compose and datasets."""

import pytest
import torch

pyg = pytest.importorskip("torch_geometric")
from torch_geometric.data import Data  # noqa: E402
from torch_geometric.transforms import Compose, BaseTransform  # noqa: E402

import rankcore  # noqa: E402
from rankcore.datasets import karate_club, power_law_graph  # noqa: E402
from rankcore.pyg import (EdgeSparsification, LocalDegreeSparsification, RandomEdgeSparsification, SpectralSparsification,  # noqa: E402
                          WalkIndexSparsification)

# (factory, the sparsify() call it must agree with)
TRANSFORMS = [
    (lambda **kw: WalkIndexSparsification(**kw), dict(method="wis", depth=2)),
    (lambda **kw: WalkIndexSparsification(depth=3, **kw), dict(method="wis", depth=3)),
    (lambda **kw: RandomEdgeSparsification(seed=0, **kw), dict(method="random", seed=0)),
    (lambda **kw: SpectralSparsification(seed=0, **kw), dict(method="spectral", seed=0)),
    (lambda **kw: LocalDegreeSparsification(**kw), dict(method="local_degree")),
]


def karate_data():
    g = karate_club()
    ei = g.edge_index
    m = ei.shape[1]
    # per-edge values that encode their own column, so alignment is checkable after any cut
    return Data(x=torch.randn(34, 5), y=torch.arange(34), edge_index=ei,
                edge_attr=torch.stack([ei[0], ei[1], ei[0] * 100 + ei[1]], dim=1).float(),
                edge_weight=(ei[0] * 100 + ei[1]).double(), edge_label=ei[0] * 100 + ei[1],
                edge_names=[f"{u}-{v}" for u, v in ei.t().tolist()], graph_attr=torch.tensor([7.0]),
                num_nodes=34, num_edge_columns=m)


@pytest.mark.parametrize("make, call", TRANSFORMS)
def test_edge_attributes_follow_the_kept_columns(make, call):
    data = karate_data()
    out = make(ratio=0.4)(data)
    ei = out.edge_index
    assert ei.shape[1] < data.edge_index.shape[1]
    code = ei[0] * 100 + ei[1]
    assert torch.equal(out.edge_attr[:, 0].long(), ei[0]) and torch.equal(out.edge_attr[:, 2].long(), code)
    assert torch.equal(out.edge_weight.long(), code) and torch.equal(out.edge_label, code)
    assert out.edge_names == [f"{u}-{v}" for u, v in ei.t().tolist()]
    # node and graph-level values are untouched
    assert torch.equal(out.x, data.x) and torch.equal(out.y, data.y) and torch.equal(out.graph_attr, data.graph_attr)
    # the kept edges are exactly the library's result, in input column order
    expected = rankcore.sparsify(data.edge_index, 34, ratio=0.4, **call)
    assert torch.equal(ei, expected.edge_index)
    # both directions of each removed edge are gone: the result is still undirected
    assert rankcore.Graph.from_input(ei, 34).undirected


@pytest.mark.parametrize("make, call", TRANSFORMS)
def test_input_is_not_modified(make, call):
    data = karate_data()
    before = {k: (v.clone() if isinstance(v, torch.Tensor) else list(v) if isinstance(v, list) else v)
              for k, v in data.items()}
    make(num_remove=20)(data)
    for key, value in before.items():
        now = data[key]
        assert (torch.equal(now, value) if isinstance(value, torch.Tensor) else now == value), key


def test_compose_and_dataset():
    class AddEdgeWeight(BaseTransform):
        def forward(self, data):
            data.edge_weight = torch.ones(data.num_edges)
            return data

    transform = Compose([AddEdgeWeight(), WalkIndexSparsification(ratio=0.5), RandomEdgeSparsification(num_remove=5,
                                                                                                      seed=1)])
    graphs = [Data(edge_index=power_law_graph(30, 60, seed=s), num_nodes=30) for s in range(4)]
    graphs = [Data(edge_index=rankcore.Graph.from_input(g.edge_index, 30).edge_index(), num_nodes=30) for g in graphs]
    from torch_geometric.data import InMemoryDataset

    class Small(InMemoryDataset):
        def __init__(self, transform=None):
            super().__init__(None, transform=transform)
            self.data, self.slices = self.collate(graphs)

    dataset = Small(transform=transform)
    for i, out in enumerate(dataset):
        m = graphs[i].edge_index.shape[1] // 2
        after_wis = m - (m // 2 + m % 2)  # ratio 0.5 rounds half up
        assert out.edge_index.shape[1] == 2 * (after_wis - 5)
        assert out.edge_weight.shape == (out.edge_index.shape[1],)


@pytest.mark.parametrize("make, error, match", [
    (lambda: RandomEdgeSparsification(ratio=1.5), ValueError, "ratio must be in"),
    (lambda: RandomEdgeSparsification(ratio="0.5"), TypeError, "ratio must be a number"),
    (lambda: RandomEdgeSparsification(num_remove=-1), ValueError, "num_remove"),
    (lambda: WalkIndexSparsification(ratio=0.5, depth=1), ValueError, "depth"),
    (lambda: WalkIndexSparsification(ratio=0.5, depth="x"), TypeError, "depth"),
    (lambda: EdgeSparsification("wiss", ratio=0.5), ValueError, "unknown sparsification method"),
    (lambda: EdgeSparsification("random", ratio=0.5, eps=1.0), TypeError, "unexpected keyword"),
])
def test_bad_transform_arguments_fail_at_construction(make, error, match):
    # they failed only on the first graph, after a dataset had begun loading
    with pytest.raises(error, match=match):
        make()


def test_transform_errors_and_symmetrize():
    with pytest.raises(ValueError, match="exactly one of ratio"):
        WalkIndexSparsification()
    with pytest.raises(ValueError, match="exactly one of ratio"):
        RandomEdgeSparsification(ratio=0.1, num_remove=2)
    directed = Data(edge_index=torch.tensor([[0, 1, 2], [1, 2, 0]]), edge_attr=torch.arange(3.0), num_nodes=3)
    with pytest.raises(ValueError, match="no reverse edge"):
        WalkIndexSparsification(num_remove=1)(directed)
    out = WalkIndexSparsification(num_remove=1, symmetrize=True)(directed)
    assert out.edge_index.shape[1] == 2 and out.edge_attr.shape == (2,)
    assert "ratio=0.3" in repr(WalkIndexSparsification(ratio=0.3))
    assert repr(SpectralSparsification(ratio=0.5, seed=1)) == "SpectralSparsification(ratio=0.5, seed=1)"
    assert repr(RandomEdgeSparsification(num_remove=3)) == "RandomEdgeSparsification(num_remove=3, seed=None)"
    assert "seed" not in repr(WalkIndexSparsification(ratio=0.3))


def test_random_transform_without_seed_follows_torch_seed():
    data = karate_data()
    torch.manual_seed(5)
    a = RandomEdgeSparsification(ratio=0.5)(data).edge_index
    torch.manual_seed(5)
    b = RandomEdgeSparsification(ratio=0.5)(data).edge_index
    c = RandomEdgeSparsification(ratio=0.5)(data).edge_index
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_lazy_submodule():
    assert rankcore.pyg.WalkIndexSparsification is WalkIndexSparsification


def _undirected(pairs):
    e = torch.tensor(pairs).t()
    return torch.cat([e, e.flip(0)], 1)


def test_batch_is_sparsified_graph_by_graph():
    """A Batch's slice tables must describe the kept edges: each graph of the result is that graph sparsified."""
    from torch_geometric.data import Batch
    from rankcore.pyg import DegreeSparsification, apply_keep_mask
    graphs = [Data(edge_index=_undirected([(0, 1)]), num_nodes=2, edge_attr=torch.tensor([10.0, 11.0])),
              Data(edge_index=_undirected([(0, 1), (1, 2), (2, 0)]), num_nodes=3,
                   edge_attr=torch.arange(20.0, 26.0)),
              Data(edge_index=_undirected([(0, 1), (1, 2)]), num_nodes=3, edge_attr=torch.arange(30.0, 34.0))]
    transform = DegreeSparsification(num_remove=1)
    out = transform(Batch.from_data_list(graphs))
    assert isinstance(out, Batch) and out.num_graphs == 3
    for i, graph in enumerate(graphs):
        expected = transform(graph)
        got = out.get_example(i)
        assert got.num_nodes == graph.num_nodes
        assert torch.equal(got.edge_index, expected.edge_index) and torch.equal(got.edge_attr, expected.edge_attr)
    with pytest.raises(TypeError, match="Batch"):
        apply_keep_mask(Batch.from_data_list(graphs), torch.ones(12, dtype=torch.bool))


def test_link_prediction_targets_are_not_cut():
    """RandomLinkSplit's supervision pairs (edge_label_index, edge_label) are targets, not message-passing edges,
    even when there are exactly as many of them as edge columns."""
    ei = karate_club().edge_index
    m = ei.shape[1]
    gen = torch.Generator().manual_seed(0)
    label_index = torch.randint(34, (2, m), generator=gen)
    label = torch.randint(2, (m,), generator=gen).float()
    data = Data(x=torch.randn(34, 3), edge_index=ei, edge_label_index=label_index, edge_label=label,
                pos_edge_label_index=label_index[:, :m], edge_attr=torch.arange(m).float(), num_nodes=34)
    out = RandomEdgeSparsification(ratio=0.3, seed=0)(data)
    assert out.edge_index.shape[1] < m
    assert torch.equal(out.edge_label_index, label_index) and torch.equal(out.edge_label, label)
    assert torch.equal(out.pos_edge_label_index, label_index)
    kept = rankcore.sparsify(ei, 34, "random", ratio=0.3, seed=0).keep_mask
    assert torch.equal(out.edge_attr, data.edge_attr[kept])


def test_equal_vertex_and_edge_counts_keep_node_values_whole():
    """With as many vertices as edge columns sizes cannot tell node from edge values: only edge_* keys are cut
    (lists too, where PyG's is_edge_attr would cut any list of that length), and an unnamed value warns."""
    ei = torch.tensor([[0, 1, 2, 3, 4, 5], [1, 0, 3, 2, 5, 4]])
    data = Data(edge_index=ei, num_nodes=6, x=torch.arange(6.0), names=[f"v{i}" for i in range(6)],
                edge_weight=torch.arange(6.0), edge_names=[f"e{i}" for i in range(6)])
    transform = RandomEdgeSparsification(num_remove=1, seed=0)
    with pytest.warns(UserWarning, match="'names'"):
        out = transform(data)
    kept = rankcore.sparsify(ei, 6, "random", num_remove=1, seed=0).keep_mask
    assert out.names == data.names and torch.equal(out.x, data.x)
    assert torch.equal(out.edge_weight, data.edge_weight[kept])
    assert out.edge_names == [n for n, k in zip(data.edge_names, kept.tolist()) if k]
    from rankcore.pyg import edge_keys
    with pytest.warns(UserWarning, match="'names'"):
        assert sorted(edge_keys(data)) == ["edge_index", "edge_names", "edge_weight"]
    for bad in (ei, Data(x=torch.zeros(3, 1))):
        with pytest.raises(TypeError, match="edge_keys needs a torch_geometric Data with an edge_index"):
            edge_keys(bad)
