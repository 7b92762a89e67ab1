package dev.retort.runner.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.Map;

/**
 * What one kind of step minimises: the distillation loss of a training step ({@link DistillObjective}) or a
 * module's preparation loss ({@link Preparations}). {@link OptimizationStep} does the rest alike for both.
 */
interface StepObjective {
    /**
     * Begins a step on {@code batch}: work outside the gradient's graph (the frozen teacher), in the step's scope.
     *
     * @param step the step's index in its phase
     * @param epoch the epoch its batch comes from (1-based)
     */
    Forward begin(BatchTensors batch, NDManager scope, long step, int epoch);

    /** One step's forward. */
    interface Forward {
        /** The loss, computed while gradients are recorded. */
        Loss loss();

        /** Puts back what the forward changed in place (BatchNorm statistics) when the step is skipped. */
        default void undo() {}
    }

    /**
     * A step's loss.
     *
     * @param total   what the backward starts from
     * @param value   its value
     * @param terms   the terms by name, {@code total} included
     * @param weights each term's weight
     */
    record Loss(NDArray total, double value, Map<String, Double> terms, Map<String, Double> weights) {}
}
