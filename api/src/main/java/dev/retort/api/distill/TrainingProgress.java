package dev.retort.api.distill;

/**
 * Where training stands at a step, for methods whose loss depends on it (CSKD's cumulative fusion weight, loss
 * weight schedules).
 *
 * @param step        steps done before this one (0 at the first step)
 * @param totalSteps  steps the run takes in all (at least 1)
 * @param epoch       current epoch, 1-based
 * @param totalEpochs epochs the run takes in all (at least 1; runs by iterations count their epochs from the data)
 * @since 1.2
 */
public record TrainingProgress(long step, long totalSteps, int epoch, int totalEpochs) {
    public TrainingProgress {
        if (totalSteps < 1) throw new IllegalArgumentException("totalSteps must be >= 1, got " + totalSteps);
        if (step < 0 || step > totalSteps) throw new IllegalArgumentException("step must be in [0, " + totalSteps + "], got " + step);
        if (totalEpochs < 1) throw new IllegalArgumentException("totalEpochs must be >= 1, got " + totalEpochs);
        if (epoch < 1 || epoch > totalEpochs) throw new IllegalArgumentException("epoch must be in [1, " + totalEpochs + "], got " + epoch);
    }

    /** The first step of a one-step, one-epoch run: what dry steps and parity checks without a progress of their own use. */
    public static final TrainingProgress FIRST = new TrainingProgress(0, 1, 1, 1);

    /** Fraction of the steps done, in [0, 1]. */
    public double fraction() {
        return (double) step / totalSteps;
    }

    /** Fraction of the epochs done before the current one, in [0, 1): the per-epoch progress of epoch-based schedules. */
    public double epochFraction() {
        return (double) (epoch - 1) / totalEpochs;
    }
}
