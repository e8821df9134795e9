"""E-steps over partitions (latentlab.em.partitions), in this process and on
a 2-worker Dask LocalCluster: the fit equals the single-process fit from the
same start (parameters within 1e-10 relative, the same iterations), because
statistics add."""

import dataclasses
import functools
import os
import signal

import numpy as np
import pandas as pd
import pytest
from distributed import Client, LocalCluster

from latentlab import fit_em
from latentlab.em.partitions import PartitionedModel, Partitions
from latentlab.hmm import GaussianHMMModel, GaussianHMMParams, simulate_hmm
from latentlab.hmm.base import HMMData
from latentlab.mixtures import GaussianMixture, PoissonMixture, simulate_gaussian_mixture
from latentlab.mixtures._gaussian_model import GaussianData
from latentlab.mixtures.gaussian import _partition as gaussian_partition
from latentlab.survival import Turnbull


@pytest.fixture(scope="module")
def client():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as c:
        yield c


def _same_fit(whole, parted):
    assert parted.n_iter == whole.n_iter and parted.n_evals == whole.n_evals
    for f in dataclasses.fields(whole.params):
        a, b = np.asarray(getattr(whole.params, f.name)), np.asarray(getattr(parted.params, f.name))
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-12 * max(1.0, np.abs(a).max()))
    assert parted.loglik == pytest.approx(whole.loglik, rel=1e-12)


def _gaussian_case(covariance_type):
    X, _ = simulate_gaussian_mixture(3000, [0.3, 0.3, 0.4], [[0, 0, 0], [3, 0, 1], [0, 4, 2]],
                                     [np.eye(3)] * 3, random_state=0)
    X[np.random.default_rng(1).random(X.shape) < 0.05] = np.nan  # missing values
    est = GaussianMixture(3, covariance_type=covariance_type, random_state=0, max_iter=50).fit(X)
    whole = est._data
    parts = [GaussianData(X[s], np.ones(len(X[s])), covariance_type, shift=whole.shift)
             for s in np.array_split(np.arange(len(X)), 5)]
    start = est.model_.initialize(whole, np.random.default_rng(3))
    return est.model_, whole, parts, start


def _poisson_case():
    counts = np.random.default_rng(0).poisson(np.r_[np.full(500, 2.0), np.full(500, 8.0)])
    est = PoissonMixture(2, random_state=0).fit(counts)
    parts = [PoissonMixture._tabulate(c, None) for c in np.array_split(counts, 4)]
    return est.model_, est._data, parts, est.model_.initialize(est._data, np.random.default_rng(1))


def _hmm_case():
    A = np.array([[0.9, 0.1], [0.2, 0.8]])
    X, _ = simulate_hmm(4000, [0.5, 0.5], A, means=[[0.0], [2.0]], covars=[[1.0], [1.0]], random_state=0)
    lengths = [1000] * 4
    model = GaussianHMMModel(2, 1, "diag", 0.0, "stmc")
    whole = HMMData.build(X, np.zeros(len(X), dtype=bool), lengths, 0.0)
    parts = [HMMData.build(X[i * 1000:(i + 1) * 1000], np.zeros(1000, dtype=bool), [1000], 0.0) for i in range(4)]
    start = GaussianHMMParams(np.array([0.5, 0.5]), np.array([[0.7, 0.3], [0.3, 0.7]]), np.array([[-0.5], [1.5]]),
                              np.array([[1.5], [1.5]]))
    return model, whole, parts, start


def _transcripts_case():
    from latentlab.transcripts import simulate_equivalence_classes
    from latentlab.transcripts.model import TranscriptMixtureModel

    classes = simulate_equivalence_classes(n_genes=30, n_fragments=50_000, random_state=0).classes
    model = TranscriptMixtureModel()
    parts = [model.data(c) for c in classes.split(4)]  # equivalence classes as partitions
    return model, model.data(classes), parts, model.initialize(model.data(classes), np.random.default_rng(2))


CASES = {
    "gaussian full": lambda: _gaussian_case("full"),
    "gaussian diag": lambda: _gaussian_case("diag"),
    "gaussian spherical": lambda: _gaussian_case("spherical"),
    "gaussian tied": lambda: _gaussian_case("tied"),
    "poisson": _poisson_case,
    "gaussian hmm (whole sequences per partition)": _hmm_case,
    "transcripts (equivalence classes per partition)": _transcripts_case,
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("accelerate", [None, "squarem"])
def test_partitions_in_this_process_equal_the_whole(case, accelerate):
    model, whole, parts, start = CASES[case]()
    one = fit_em(model, whole, init_params=start, accelerate=accelerate, max_iter=200)
    many = fit_em(PartitionedModel(model), Partitions(parts), init_params=start, accelerate=accelerate, max_iter=200)
    _same_fit(one, many)


@pytest.mark.parametrize("case", sorted(CASES))
def test_partitions_on_a_local_cluster_equal_the_whole(client, case):
    model, whole, parts, start = CASES[case]()
    one = fit_em(model, whole, init_params=start, accelerate="squarem", max_iter=200)
    many = fit_em(PartitionedModel(model), Partitions(parts, client=client), init_params=start, accelerate="squarem",
                  max_iter=200)
    _same_fit(one, many)


def test_standard_errors_from_partitions_equal_the_wholes(client):
    """The numerical Hessian differentiates the summed log-likelihood; the
    sums are taken in another order, so the standard errors agree to the
    Hessian's finite-difference precision, not to round-off."""
    model, whole, parts, start = _poisson_case()
    one = fit_em(model, whole, init_params=start, std_errors=True)
    many = fit_em(PartitionedModel(model), Partitions(parts, client=client), init_params=start, std_errors=True)
    np.testing.assert_allclose(np.sqrt(np.diag(many.covariance)), np.sqrt(np.diag(one.covariance)), rtol=1e-6)


def test_restarts_draw_from_the_first_partition():
    model, _, parts, _ = _poisson_case()
    fit = fit_em(PartitionedModel(model), Partitions(parts), n_init=3, random_state=0)
    assert fit.restart_logliks.size == 3 and np.isfinite(fit.loglik)


def test_bad_uses_are_refused():
    with pytest.raises(ValueError, match="parts is empty"):
        Partitions([])
    with pytest.raises(TypeError, match="model must be an EMModel"):
        PartitionedModel("gmm")
    turnbull = Turnbull().fit([0.0, 1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match="all the data at once"):
        PartitionedModel(turnbull.model_)


# -- Dask collections: the estimator's route, kept or read at every pass, a worker lost --------

def _gaussian_rows():
    X, _ = simulate_gaussian_mixture(6000, [0.3, 0.3, 0.4], [[0, 0, 0], [3, 0, 1], [0, 4, 2]],
                                     [np.eye(3)] * 3, random_state=0)
    X[np.random.default_rng(1).random(X.shape) < 0.05] = np.nan
    return X[~np.isnan(X).all(axis=1)]


_PRECISIONS = {"full": np.stack([np.eye(3)] * 3), "tied": np.eye(3), "diag": np.ones((3, 3)), "spherical": np.ones(3)}


def _start(covariance_type="full"):
    """A complete start, so that both fits begin at the same point with no draw."""
    return dict(covariance_type=covariance_type, weights_init=[0.3, 0.3, 0.4],
                means_init=[[0, 0, 0], [2, 0, 0], [0, 3, 0]], precisions_init=_PRECISIONS[covariance_type])


def _same_estimates(a, b):
    assert a.n_iter_ == b.n_iter_
    for name in ("weights_", "means_", "covariances_"):
        np.testing.assert_allclose(getattr(b, name), getattr(a, name), rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("covariance_type", ["full", "diag", "spherical", "tied"])
def test_gaussian_mixture_on_a_dask_array_equals_the_fit_in_memory(client, covariance_type):
    da = pytest.importorskip("dask.array")
    X = _gaussian_rows()
    # started at the simulated means: 7-21 EM iterations to convergence (61 for full from _start's means),
    # each a round trip to the cluster; both fits still run to convergence from one complete start
    start = {**_start(covariance_type), "means_init": [[0, 0, 0], [3, 0, 1], [0, 4, 2]]}
    whole = GaussianMixture(3, **start).fit(X)
    assert whole.converged_ and whole.n_iter_ > 5
    parted = GaussianMixture(3, **start).fit(da.from_array(X, chunks=(1000, 3)))
    assert parted._data.client is client and parted._data.persisted
    _same_estimates(whole, parted)


def _rows_as_partitions(X, persist, client=None):
    """The rows of X as a Dask array of 6 chunks, prepared as the estimator does."""
    da = pytest.importorskip("dask.array")
    shift = np.nanmean(X, axis=0)
    prepare = functools.partial(gaussian_partition, covariance_type="full", shift=shift)
    return Partitions.from_dask(da.from_array(X, chunks=(1000, 3)), prepare, client=client, persist=persist), shift


@pytest.mark.parametrize("persist", [True, False])
def test_a_dask_array_in_this_process_kept_or_read_at_every_pass(persist):
    X = _gaussian_rows()
    parts, shift = _rows_as_partitions(X, persist)
    whole = GaussianData(X, np.ones(len(X)), "full", shift=shift)
    model = GaussianMixture(3, **_start()).fit(X).model_
    start = model.initialize(whole, np.random.default_rng(0))
    assert parts.client is None and parts.persisted is persist
    _same_fit(fit_em(model, whole, init_params=start), fit_em(PartitionedModel(model), parts, init_params=start))


def test_read_at_every_pass_on_a_cluster(client):
    X = _gaussian_rows()
    parts, shift = _rows_as_partitions(X, persist=False, client=client)
    whole = GaussianData(X, np.ones(len(X)), "full", shift=shift)
    model = GaussianMixture(3, **_start()).fit(X).model_
    start = model.initialize(whole, np.random.default_rng(0))
    assert not parts.persisted
    _same_fit(fit_em(model, whole, init_params=start, accelerate="squarem"),
              fit_em(PartitionedModel(model), parts, init_params=start, accelerate="squarem"))


def test_a_worker_killed_during_the_fit_changes_nothing(client):
    """A worker is killed (SIGKILL) at iteration 3; its nanny starts a new
    one, the scheduler recomputes the partitions it held from their source
    (the Dask graph), and the fit ends where the undisturbed fit ends."""
    X = _gaussian_rows()
    parts, shift = _rows_as_partitions(X, persist=True, client=client)
    whole = GaussianData(X, np.ones(len(X)), "full", shift=shift)
    model = GaussianMixture(3, **_start()).fit(X).model_
    start = model.initialize(whole, np.random.default_rng(0))
    before = client.run(os.getpid)
    victim = sorted(before)[0]

    def kill_at_iteration_3(iteration, params, loglik):
        if iteration == 3:
            os.kill(before[victim], signal.SIGKILL)

    fit = fit_em(PartitionedModel(model), parts, init_params=start, callback=kill_at_iteration_3)
    client.wait_for_workers(2, timeout=60)
    after = client.run(os.getpid)
    assert before[victim] not in after.values()  # the worker did die
    _same_fit(fit_em(model, whole, init_params=start), fit)


def test_from_dask_refuses_what_it_cannot_split():
    da = pytest.importorskip("dask.array")
    with pytest.raises(TypeError, match="collection must be a Dask"):
        Partitions.from_dask(np.ones((4, 2)))
    with pytest.raises(ValueError, match="persist must be"):
        Partitions.from_dask(da.ones((4, 2), chunks=2), persist="yes")
    with pytest.raises(TypeError, match="prepare must be"):
        Partitions.from_dask(da.ones((4, 2), chunks=2), prepare=3)
    unknown = da.ones((4, 2), chunks=2)[da.ones(4, chunks=2) > 0]
    with pytest.raises(ValueError, match="unknown size"):
        Partitions.from_dask(unknown)
    with pytest.raises(TypeError, match="sample_weight is not supported"):
        GaussianMixture(2).fit(da.ones((10, 2), chunks=5), sample_weight=np.ones(10))


def test_poisson_mixture_on_a_dask_array_is_fitted_on_its_table(client):
    da = pytest.importorskip("dask.array")
    counts = np.random.default_rng(0).poisson(np.r_[np.full(3000, 2.0), np.full(2000, 8.0)])
    start = dict(weights_init=[0.5, 0.5], rates_init=[1.0, 5.0])
    whole = PoissonMixture(2, **start).fit(counts)
    parted = PoissonMixture(2, **start).fit(da.from_array(counts, chunks=1000))
    assert parted.n_iter_ == whole.n_iter_ and parted.n_obs_ == whole.n_obs_
    np.testing.assert_allclose(parted.rates_, whole.rates_, rtol=1e-10)
    np.testing.assert_allclose(parted.weights_, whole.weights_, rtol=1e-10)
    with pytest.raises(ValueError, match="counts"):
        PoissonMixture(2).fit(da.from_array(np.r_[counts, -1], chunks=1000))
    with pytest.raises(TypeError, match="weights is not supported"):
        PoissonMixture(2).fit(da.from_array(counts, chunks=1000), weights=np.ones(counts.size))


def test_transcript_quantifier_on_class_partitions_equals_the_fit_in_memory(client):
    from latentlab.transcripts import TranscriptQuantifier, simulate_equivalence_classes

    classes = simulate_equivalence_classes(n_genes=10, n_fragments=10_000, random_state=1).classes
    whole = TranscriptQuantifier(random_state=5).fit(classes)
    parted = TranscriptQuantifier(random_state=5).fit(classes.split(3))  # on the active client
    assert parted.result_.n_iter == whole.result_.n_iter
    np.testing.assert_allclose(parted.result_.params.fractions, whole.result_.params.fractions, rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(parted.quant_["NumReads_se"], whole.quant_["NumReads_se"], rtol=1e-10)


@pytest.mark.parametrize("accelerate", [None, "squarem"])
def test_gaussian_hmm_on_a_dask_bag_of_sequences_equals_the_fit_in_memory(client, accelerate):
    import dask.bag as db

    from latentlab.hmm import GaussianHMM

    A = np.array([[0.9, 0.1], [0.2, 0.8]])
    X, _ = simulate_hmm(4000, [0.5, 0.5], A, means=[[0.0], [2.5]], covars=[[1.0], [1.0]], random_state=3)
    seqs = [X[i * 800:(i + 1) * 800] for i in range(5)]

    def start():  # the same start for both fits: every parameter given, none drawn
        est = GaussianHMM(2, covariance_type="diag", init_params="", n_iter=100, accelerate=accelerate)
        est.startprob_, est.transmat_ = np.array([0.5, 0.5]), np.array([[0.8, 0.2], [0.3, 0.7]])
        est.means_, est.covars_ = np.array([[-0.5], [2.0]]), np.array([[1.5], [1.5]])
        return est

    whole = start().fit(X, lengths=[800] * 5)
    parted = start().fit(db.from_sequence(seqs, npartitions=2))
    assert parted.n_iter_ == whole.n_iter_
    for field in ("startprob_", "transmat_", "means_", "covars_"):
        np.testing.assert_allclose(getattr(parted, field), getattr(whole, field), rtol=1e-10)
    assert parted.score(X) == pytest.approx(whole.score(X), rel=1e-12)  # the fitted model scores data in memory
    np.testing.assert_array_equal(parted.predict(X), whole.predict(X))


def test_a_dask_bag_is_refused_with_lengths_and_other_collections_with_a_message(client):
    import dask.array as da
    import dask.bag as db

    from latentlab.hmm import GaussianHMM

    with pytest.raises(TypeError, match="lengths is not used"):
        GaussianHMM(2).fit(db.from_sequence([np.zeros((10, 1))]), lengths=[10])
    with pytest.raises(TypeError, match="Dask bag of sequences"):
        GaussianHMM(2).fit(da.zeros((10, 1)))


def test_poisson_hmm_on_a_dask_bag_equals_the_fit_in_memory(client):
    import dask.bag as db

    from latentlab.hmm import PoissonHMM

    rng = np.random.default_rng(4)
    z = (np.cumsum(rng.random(3000) < 0.05) % 2).astype(int)
    X = rng.poisson(np.array([2.0, 7.0])[z])[:, None]
    seqs = [X[i * 600:(i + 1) * 600] for i in range(5)]

    def start():
        est = PoissonHMM(2, init_params="", n_iter=100, accelerate="squarem")
        est.startprob_, est.transmat_ = np.array([0.5, 0.5]), np.array([[0.9, 0.1], [0.1, 0.9]])
        est.lambdas_ = np.array([[1.0], [5.0]])
        return est

    whole = start().fit(X, lengths=[600] * 5)
    parted = start().fit(db.from_sequence(seqs, npartitions=3))
    assert parted.n_iter_ == whole.n_iter_
    np.testing.assert_allclose(parted.lambdas_, whole.lambdas_, rtol=1e-10)
    np.testing.assert_allclose(parted.transmat_, whole.transmat_, rtol=1e-10)


@pytest.mark.filterwarnings("ignore:AlleleFrequencyModel.*max_iter")  # loci with F on its boundary crawl
@pytest.mark.parametrize("inbreeding", [False, True])
def test_allele_frequencies_by_locus_with_loci_as_partitions_equal_the_fit_in_memory(client, inbreeding):
    import dask.array as da

    from latentlab.genetics import allele_frequencies_by_locus

    rng = np.random.default_rng(6)
    p = rng.uniform(0.05, 0.95, 1200)
    g = (rng.random((1200, 300, 2)) < p[:, None, None]).astype(np.int64)
    g[rng.random(g.shape) < 0.1] = -1  # missing and half-missing genotypes
    whole = allele_frequencies_by_locus(g, inbreeding=inbreeding, random_state=4)
    parted = allele_frequencies_by_locus(da.from_array(g, chunks=(250, 100, 2)), inbreeding=inbreeding, random_state=4)
    pd.testing.assert_frame_equal(parted, whole, rtol=1e-10)
