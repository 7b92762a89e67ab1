package dev.retort.runner.train;

import dev.retort.datasets.Batch;
import dev.retort.datasets.BatchLoader;
import java.io.IOException;

/**
 * The one step loop, for training and for preparation phases alike: the run's batches in the run's order (epoch
 * {@code e} of the run's seed, from the batch a step index gives), a step boundary before each step, the step, the
 * non-finite policy ({@link FaultPolicy.Guard}), and what follows a step (progress, evaluation, checkpoints) — the
 * phase's {@link Body} says what each of those is.
 */
final class StepLoop {
    /** What a phase does at each point of the loop. */
    interface Body {
        /** At the boundary before step {@code step}: false ends the loop (a stop request). */
        boolean boundary(long step);

        /** Step {@code step} on {@code batch} of epoch {@code epoch} (1-based). */
        StepOutcome step(long step, int epoch, Batch batch);

        /**
         * After a step that did not end the loop.
         *
         * @param done  steps done now
         * @param nanos the step's wall time, its data included
         */
        void after(long done, int epoch, Batch batch, StepOutcome outcome, long nanos) throws IOException;
    }

    /** How the loop ended. */
    sealed interface End {
        /** Every step was taken. */
        record Completed() implements End {}

        /** A boundary ended it before step {@code step}. */
        record Interrupted(long step) implements End {}

        /** Step {@code step} was not finite and the policy ends the phase ({@code verdict} STOP or DIVERGED). */
        record NonFinite(long step, FaultPolicy.Verdict verdict, StepOutcome.NonFinite outcome, int inARow) implements End {}
    }

    private final BatchLoader loader;
    private final long seed;
    private final boolean shuffle;
    private final int stepsPerEpoch;
    private final FaultPolicy.Guard guard;
    private final Timings timings;

    /**
     * @param shuffle whether each epoch shuffles (by seed and epoch), else the split's own order
     * @param timings where the data wait is timed, or null
     */
    StepLoop(BatchLoader loader, long seed, boolean shuffle, int stepsPerEpoch, FaultPolicy.Guard guard, Timings timings) {
        this.loader = loader;
        this.seed = seed;
        this.shuffle = shuffle;
        this.stepsPerEpoch = stepsPerEpoch;
        this.guard = guard;
        this.timings = timings;
    }

    /** Epochs that {@code steps} steps span (at least 1). */
    int epochs(long steps) {
        return (int) Math.max(1, (steps + stepsPerEpoch - 1) / stepsPerEpoch);
    }

    /** Steps {@code from} (inclusive) to {@code to} (exclusive). */
    End run(long from, long to, Body body) throws IOException {
        BatchLoader.Epoch current = null;
        int currentEpoch = -1;
        try {
            for (long step = from; step < to; ) {
                if (!body.boundary(step)) return new End.Interrupted(step);
                int e = (int) (step / stepsPerEpoch) + 1, b = (int) (step % stepsPerEpoch);
                if (current == null || e != currentEpoch) {
                    if (current != null) current.close();
                    current = loader.epoch(seed, e, shuffle, b);
                    currentEpoch = e;
                }
                long t0 = System.nanoTime();
                Batch batch = current.next();
                if (timings != null) timings.add("data", System.nanoTime() - t0);
                StepOutcome outcome = body.step(step, e, batch);
                if (outcome instanceof StepOutcome.NonFinite n) {
                    FaultPolicy.Verdict verdict = guard.nonFinite();
                    if (verdict != FaultPolicy.Verdict.SKIP) return new End.NonFinite(step, verdict, n, guard.inARow());
                } else if (outcome instanceof StepOutcome.Done) {
                    guard.finite();
                }
                step++;
                body.after(step, e, batch, outcome, System.nanoTime() - t0);
            }
            return new End.Completed();
        } finally {
            if (current != null) current.close();
        }
    }
}
