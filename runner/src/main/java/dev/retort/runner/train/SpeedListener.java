package dev.retort.runner.train;

import dev.retort.datasets.Batch;

/**
 * Step time and throughput: the summed wall time of the timed steps, a moving average of images/s, and the phase
 * timings restarted when the run reaches the step a benchmark times from (its warm-up done).
 */
final class SpeedListener implements TrainingListener {
    private final RunSnapshot.Board board;
    private final Timings timings;
    private final long timedFrom;

    /** @param timedFrom the step at which timings restart, or -1 */
    SpeedListener(RunSnapshot.Board board, Timings timings, long timedFrom) {
        this.board = board;
        this.timings = timings;
        this.timedFrom = timedFrom;
    }

    @Override
    public void beforeStep(long step) {
        if (step == timedFrom) {
            timings.reset();
            board.update(s -> s.withSpeed(new RunSnapshot.Speed(s.speed().imagesPerSecond(), 0, 0)));
        }
    }

    @Override
    public void stepCounted(long done, Batch batch, long nanos) {
        timings.stepEnded();
        board.update(s -> {
            RunSnapshot.Speed v = s.speed();
            double now = batch.size() / (nanos / 1e9);
            double ips = v.imagesPerSecond() == 0 ? now : 0.9 * v.imagesPerSecond() + 0.1 * now;
            return s.withSpeed(new RunSnapshot.Speed(ips, v.stepNanos() + nanos, v.stepsTimed() + 1));
        });
    }
}
