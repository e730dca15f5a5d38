"""Embedding lookup and its gradient on the CPU and the simulated CUDA kernels: against the
reference (the backward bit for bit: both add in id order), the adjoint identity, the same
bits for any thread count, PyTorch when installed, and bad input."""

import numpy as np
import pytest

import sinapse
from conftest import BACKENDS, on
from sinapse import ops, reference

# (ids shape, vocab, dim): empty, one id, a single-row table, a vocabulary past the CUDA
# backward's 256 row ranges, a row wider than one 256-thread block.
CASES = [((0,), 4, 3), ((1,), 1, 1), ((3, 4), 7, 5), ((2, 3, 5), 300, 2), ((40,), 9, 300), ((6, 7), 20, 65)]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("ids_shape, vocab, dim", CASES)
@pytest.mark.parametrize("id_dtype", [np.int32, np.int64])
def test_forward_and_backward_match_reference(rng, backend, ids_shape, vocab, dim, id_dtype):
    ids = rng.integers(0, vocab, ids_shape).astype(id_dtype)
    table = rng.standard_normal((vocab, dim)).astype(np.float32)
    dy = rng.standard_normal(ids_shape + (dim,)).astype(np.float32)
    with on(backend):
        y = ops.embedding(ids, table)
        dtable = ops.embedding_backward(dy, ids, vocab)
    np.testing.assert_array_equal(y, reference.embedding(ids, table))
    # Same additions in the same (id) order as the reference loop: identical bits.
    np.testing.assert_array_equal(dtable, reference.embedding_backward(dy, ids, vocab))


@pytest.mark.parametrize("backend", BACKENDS)
def test_backward_is_the_adjoint_of_the_forward(rng, backend):
    """<embedding(ids, T), dy> == <T, embedding_backward(dy, ids)> for every T: an independent
    check of the backward that needs no scatter-add of its own."""
    ids = rng.integers(0, 6, (5, 4)).astype(np.int32)
    ids[0, :] = 2  # repeated ids must accumulate
    table = rng.standard_normal((6, 3))
    dy = rng.standard_normal((5, 4, 3))
    with on(backend):
        y = ops.embedding(ids, table.astype(np.float32))
        dtable = ops.embedding_backward(dy.astype(np.float32), ids, 6)
    np.testing.assert_allclose((y * dy).sum(), (table * dtable).sum(), rtol=1e-5)


def test_out_argument_and_unused_rows_are_zero(rng):
    ids = np.array([[0, 2], [2, 2]], np.int64)
    table = rng.standard_normal((4, 3)).astype(np.float32)
    out = np.full((2, 2, 3), np.nan, np.float32)
    assert ops.embedding(ids, table, out=out) is out
    np.testing.assert_array_equal(out, table[ids])
    dtable = np.full((4, 3), np.nan, np.float32)
    assert ops.embedding_backward(np.ones((2, 2, 3), np.float32), ids, 4, out=dtable) is dtable
    np.testing.assert_array_equal(dtable, [[1] * 3, [0] * 3, [3] * 3, [0] * 3])


def test_backward_same_bits_for_any_thread_count(rng, restore_threads):
    ids = rng.integers(0, 50, 20000).astype(np.int32)
    dy = rng.standard_normal((20000, 32)).astype(np.float32)
    results = []
    for n in (1, 2):
        sinapse.set_num_threads(n)
        results.append(ops.embedding_backward(dy, ids, 50))
    np.testing.assert_array_equal(results[0], results[1])


def test_matches_torch(rng):
    torch = pytest.importorskip("torch")
    ids = rng.integers(0, 11, (4, 6)).astype(np.int64)
    table = rng.standard_normal((11, 5)).astype(np.float32)
    dy = rng.standard_normal((4, 6, 5)).astype(np.float32)
    tt = torch.from_numpy(table.copy()).requires_grad_()
    ty = torch.nn.functional.embedding(torch.from_numpy(ids), tt)
    ty.backward(torch.from_numpy(dy))
    np.testing.assert_array_equal(ops.embedding(ids, table), ty.detach().numpy())
    np.testing.assert_allclose(ops.embedding_backward(dy, ids, 11), tt.grad.numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_bad_input(backend):
    table = np.ones((5, 3), np.float32)
    with on(backend):
        with pytest.raises(IndexError, match=r"embedding: `ids` must lie in \[0, 5\).*from 0 to 5"):
            ops.embedding(np.array([0, 5], np.int32), table)
        with pytest.raises(IndexError, match=r"embedding_backward: `ids` must lie in \[0, 5\).*from -1 to 1"):
            ops.embedding_backward(np.ones((2, 3), np.float32), np.array([-1, 1], np.int64), 5)
    with pytest.raises(TypeError, match=r"embedding: `ids` must be int32 or int64"):
        ops.embedding(np.array([0.0, 1.0]), table)
    with pytest.raises(ValueError, match=r"embedding: `ids` must be C-contiguous"):
        ops.embedding(np.zeros((4, 4), np.int32)[:, ::2], table)
    with pytest.raises(ValueError, match=r"embedding: `table` must be 2-D"):
        ops.embedding(np.array([0], np.int32), np.ones(5, np.float32))
    with pytest.raises(TypeError, match=r"embedding: `table` must be float32"):
        ops.embedding(np.array([0], np.int32), np.ones((5, 3)))
    with pytest.raises(ValueError, match=r"embedding_backward: `dy` must have shape ids.shape \+ \(dim,\)"):
        ops.embedding_backward(np.ones((3, 3), np.float32), np.array([0, 1], np.int32), 5)
    with pytest.raises(ValueError, match=r"embedding_backward: `vocab_size` must be a positive int"):
        ops.embedding_backward(np.ones((1, 3), np.float32), np.array([0], np.int32), 0)
    with pytest.raises(ValueError, match=r"embedding: `out` must have shape \(2, 3\)"):
        ops.embedding(np.array([0, 1], np.int32), table, out=np.ones((2, 4), np.float32))


def test_cupy_on_the_gpu(rng):
    if not sinapse.cuda.is_available():
        pytest.skip(f"no usable CUDA here: {sinapse.cuda.why_unavailable()}")
    import cupy

    ids = rng.integers(0, 300, (64, 50)).astype(np.int32)
    table = rng.standard_normal((300, 32)).astype(np.float32)
    dy = rng.standard_normal((64, 50, 32)).astype(np.float32)
    y = ops.embedding(cupy.asarray(ids), cupy.asarray(table))
    dtable = ops.embedding_backward(cupy.asarray(dy), cupy.asarray(ids), 300)
    np.testing.assert_array_equal(cupy.asnumpy(y), table[ids])
    np.testing.assert_array_equal(cupy.asnumpy(dtable), reference.embedding_backward(dy, ids, 300))


@pytest.mark.skipif(not sinapse.cuda.simulator_built(), reason="needs the CUDA simulator")
@pytest.mark.parametrize("which", ["no_zero", "range_gap"])
def test_simulated_mutants_are_caught(rng, which):
    """The checks above must fail on deliberately broken CUDA backward kernels: the same
    comparison as test_forward_and_backward_match_reference, on a NaN-prefilled table."""
    ids = rng.integers(0, 300, (2, 3, 5)).astype(np.int32)
    dy = rng.standard_normal((2, 3, 5, 2)).astype(np.float32)
    good = np.full((300, 2), np.nan, np.float32)
    bad = good.copy()
    with sinapse.cuda.simulate():
        ops.embedding_backward(dy, ids, 300, out=good)
        sinapse._cuda_sim.embedding_backward_mutant(ids, dy, bad, which)
    want = reference.embedding_backward(dy, ids, 300)
    np.testing.assert_array_equal(good, want)
    with pytest.raises(AssertionError):
        np.testing.assert_array_equal(bad, want)
