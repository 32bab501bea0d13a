"""Progress reports of a fit and a sample: stages in order, counts that add up, no leaks."""

from __future__ import annotations

import threading

from synthema.synth import create_synthesizer, progress
from synthema.synth.progress import Timeline, listening


def test_a_private_mst_fit_reports_its_measurements_compilation_and_iterations(
        small_dictionary, aml_data):
    # Setup
    timeline = Timeline()
    synth = create_synthesizer("mst", dictionary=small_dictionary, epsilon=1.0, random_state=0,
                               iters=200, tol=0.0)

    # Run
    with listening(timeline):
        synth.fit(aml_data)
    timeline.close()

    # Assert: every measurement batch is a stage (one-way, bins, selection, cliques), then the first
    # block of iterations (compilation), then the iterations up to all 200 (tol 0: no early stop)
    kinds = [s.kind for s in timeline.stages]
    assert kinds.count("measure") >= 3
    assert kinds.index("compile") > max(i for i, k in enumerate(kinds) if k == "measure")
    estimate = [s for s in timeline.stages if s.kind == "estimate"]
    assert len(estimate) == 1 and estimate[0].done == estimate[0].total == 200
    assert all(s.seconds is not None and s.seconds >= 0 for s in timeline.stages)
    assert timeline.count("estimate") == (1, 200)


def test_sampling_reports_rows_written_up_to_n(small_dictionary, aml_data):
    # Setup
    synth = create_synthesizer("independent", dictionary=small_dictionary, epsilon=1.0,
                               random_state=0).fit(aml_data)
    seen = []

    # Run
    with listening(seen.append):
        synth.sample(300, random_state=1)

    # Assert: the rows that satisfy every rule never decrease while sampling; the repair
    # reports its own count, and the two (with any rows rejected) make up the n rows
    report = synth.sampling_report_
    sampled = [e.done for e in seen if e.kind == "sample" and e.done is not None]
    repaired = [e.done for e in seen if e.kind == "repair" and e.done is not None]
    assert sampled and sampled == sorted(sampled) and repaired == sorted(repaired)
    assert report["rows_repaired"] > 0  # this model draws few valid rows: repair runs
    assert sampled[-1] + repaired[-1] + report["rows_rejected"] == 300
    assert repaired[-1] == report["rows_repaired"]


def test_reports_go_only_to_the_listener_of_their_own_thread(small_dictionary, aml_data):
    # Setup: a listener on this thread; another thread samples without one
    synth = create_synthesizer("independent", dictionary=small_dictionary, epsilon=1.0,
                               random_state=0).fit(aml_data)
    here = []
    other = threading.Thread(target=lambda: synth.sample(50, random_state=2))

    # Run
    with listening(here.append):
        other.start()
        other.join()
        progress.stage("mine")

    # Assert: only this thread's report arrived; none once the block has ended
    assert [e.stage for e in here] == ["mine"]
    progress.stage("after")
    assert [e.stage for e in here] == ["mine"]
