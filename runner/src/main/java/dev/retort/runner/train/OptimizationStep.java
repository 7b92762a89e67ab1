package dev.retort.runner.train;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import dev.retort.datasets.Batch;
import dev.retort.distill.support.ModuleRoster;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One optimisation step, alike for training and for a preparation phase: the batch as tensors in a scope of its own,
 * the objective's forward, the finiteness checks (loss, then gradients), the backward and the AdamW update. A step
 * that is skipped leaves no trace: gradients zeroed, the forward's in-place changes undone.
 */
final class OptimizationStep {
    private final Engine engine;
    private final NDManager base;
    private final AdamW optimizer;
    private final Timings timings;

    /** @param timings where the backward and the update are timed, or null */
    OptimizationStep(Engine engine, NDManager base, AdamW optimizer, Timings timings) {
        this.engine = engine;
        this.base = base;
        this.optimizer = optimizer;
        this.timings = timings;
    }

    AdamW optimizer() {
        return optimizer;
    }

    StepOutcome run(StepObjective objective, Batch batch, long step, int epoch, double lr) {
        try (NDManager scope = base.newSubManager()) {
            if (timings != null) timings.stepBegins(scope);
            BatchTensors tensors = BatchTensors.of(batch, scope);
            StepObjective.Forward forward = objective.begin(tensors, scope, step, epoch);
            StepObjective.Loss loss;
            try (GradientCollector collector = engine.newGradientCollector()) {
                try {
                    loss = forward.loss();
                } catch (ModuleRoster.ModuleFailure f) {
                    forward.undo();
                    optimizer.zeroGradients();
                    return new StepOutcome.ModuleFailed(f);
                }
                if (!Double.isFinite(loss.value())) {
                    forward.undo();
                    optimizer.zeroGradients();
                    return new StepOutcome.NonFinite(loss.terms(), List.of());
                }
                long t = System.nanoTime();
                collector.backward(loss.total());
                time("backward", t, tensors);
            }
            List<String> badGradients = optimizer.nonFiniteGradients();
            if (!badGradients.isEmpty()) {
                Map<String, Double> terms = new LinkedHashMap<>(loss.terms());
                terms.put("total", Double.NaN);
                forward.undo();
                optimizer.zeroGradients();
                return new StepOutcome.NonFinite(terms, badGradients);
            }
            long t = System.nanoTime();
            optimizer.step(lr);
            optimizer.zeroGradients();
            time("optimizer", t, tensors);
            return new StepOutcome.Done(loss.terms(), loss.weights(), loss.value());
        }
    }

    private void time(String phase, long from, BatchTensors tensors) {
        if (timings != null) timings.end(phase, from, tensors.images());
    }
}
