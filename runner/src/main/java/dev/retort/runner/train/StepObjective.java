package dev.retort.runner.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.retort.distill.support.Objective;
import java.util.LinkedHashMap;
import java.util.List;
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
     * A step's loss, not read yet: {@link OptimizationStep} reads its values together with the optimizer's flags in
     * one copy, after the backward.
     *
     * @param total   what the backward starts from
     * @param names   the terms' names, {@value Objective#TOTAL} among them, in the order of {@code values}
     * @param values  the terms' values, one float32 element each, on the device
     * @param weights each term's weight
     */
    record Loss(NDArray total, List<String> names, NDArray values, Map<String, Double> weights) {
        Loss(Objective.Parts parts) {
            this(parts.total(), parts.names(), parts.values(), parts.weights());
        }

        /** The terms by name, from their values as read ({@code names().size()} elements from {@code read[offset]}). */
        Map<String, Double> terms(float[] read, int offset) {
            Map<String, Double> terms = new LinkedHashMap<>();
            for (int i = 0; i < names.size(); i++) terms.put(names.get(i), (double) read[offset + i]);
            return terms;
        }
    }
}
