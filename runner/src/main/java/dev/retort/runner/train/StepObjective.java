package dev.retort.runner.train;

import ai.djl.ndarray.NDManager;
import dev.retort.distill.support.Objective;

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
        /**
         * The loss, computed while gradients are recorded, not read yet: {@link OptimizationStep} reads its values
         * together with the optimizer's flags in one copy, after the backward.
         */
        Objective.Parts loss();

        /** Puts back what the forward changed in place (BatchNorm statistics) when the step is skipped. */
        default void undo() {}
    }
}
