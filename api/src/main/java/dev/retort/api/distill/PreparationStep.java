package dev.retort.api.distill;

import ai.djl.ndarray.NDManager;
import dev.retort.api.tap.TapValues;
import java.util.Objects;

/**
 * One step of a {@link Preparation}.
 *
 * @param teacher  the frozen teacher's taps for the batch
 * @param labels   the batch's ground truth
 * @param progress where the phase stands (its own steps)
 * @param manager  the step's manager
 * @since 1.2
 */
public record PreparationStep(TapValues teacher, Labels labels, TrainingProgress progress, NDManager manager) {
    public PreparationStep {
        Objects.requireNonNull(teacher, "teacher");
        Objects.requireNonNull(labels, "labels");
        Objects.requireNonNull(progress, "progress");
        Objects.requireNonNull(manager, "manager");
    }
}
