"""`make report`'s efficiency: the images its runs trained themselves, at the model's ceiling, against
the wall time (ltr.report.efficiency)."""

from ltr.report.efficiency import efficiency_text, trained_images


def test_a_shared_stage_1_counts_once():
    """crt's 1,300 images include its seed's stage 1 (softmax's 1,000), which it restored from the
    cache; balanced softmax trains from scratch and ssp its own stage 1: counted whole."""
    trained = {("softmax", 0): 1000.0, ("crt", 0): 1300.0, ("balanced_softmax", 0): 1000.0, ("ssp", 0): 2500.0}
    assert trained_images(trained, {0: 1000.0}) == 1000 + 300 + 1000 + 2500


def test_a_stage_1_trained_before_the_report_is_still_subtracted():
    assert trained_images({("lws", 1): 1100.0}, {1: 1000.0}) == 100


def test_efficiency_is_the_ceiling_time_over_the_wall_time():
    # 4,800 images at 100 images/s a process, 2 at a time: 24 s of work in 48 s of wall time
    text = efficiency_text(4800, 100.0, jobs=2, threads=1, wall_s=48)
    assert "0.4 min against 0.8 min of wall time: 50% efficiency" in text
    assert "2 at a time on 2 cores" in text
