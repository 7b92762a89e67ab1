package dev.retort.runner.train;

import dev.retort.datasets.Batch;

/**
 * Told of each training step, in the manner of DJL's {@code TrainingListener}s: the loop calls every listener at
 * the same points, in the order they were given; each does one thing (loss history, metrics events, timing,
 * progress on the console, skipped-sample reports).
 */
interface TrainingListener {
    /** Before step {@code step} is taken, after its boundary. */
    default void beforeStep(long step) {}

    /** Step {@code step} (0-based) ended with {@code outcome}; the run's snapshot does not count it yet. */
    default void stepEnded(long step, double lr, StepOutcome outcome) {}

    /** The step was counted: {@code done} steps now; {@code nanos} its wall time, data included. */
    default void stepCounted(long done, Batch batch, long nanos) {}

    /** The loop ended, normally or not. */
    default void loopEnded() {}
}
