package dev.retort.runner.train;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import dev.retort.datasets.Batch;
import dev.retort.distill.support.ModuleRoster;
import dev.retort.distill.support.Objective;
import dev.retort.nn.HostTransfers;
import dev.retort.nn.NativeHeap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One optimisation step, alike for training and for a preparation phase: the batch as tensors in a scope of its own,
 * the objective's forward, the backward, the finiteness checks (loss, then gradients) and the AdamW update. A step
 * that is skipped leaves no trace: gradients zeroed, the forward's in-place changes undone.
 *
 * <p>The step meets the host three times, counted by {@link HostTransfers}: the batch's images and labels go up, and
 * one small float32 array comes back, stacking every loss term, the all-finite flag over every gradient and the
 * non-zero flags of the parameters the optimizer has no state for yet. Whatever else is asked (the names of
 * offending gradients) is read only once that array says something is wrong.
 */
final class OptimizationStep {
    private final Engine engine;
    private final NDManager base;
    private final AdamW optimizer;
    private final Timings timings;
    /** The most freed native memory kept after a step ({@link NativeHeap}). */
    private final long heapBound;

    /** @param timings where the backward and the update are timed, or null */
    OptimizationStep(Engine engine, NDManager base, AdamW optimizer, Timings timings) {
        this.engine = engine;
        this.base = base;
        this.optimizer = optimizer;
        this.timings = timings;
        this.heapBound = NativeHeap.bound();  // a mistyped -Dretort.malloc_trim fails the run before its first step
    }

    AdamW optimizer() {
        return optimizer;
    }

    StepOutcome run(StepObjective objective, Batch batch, long step, int epoch, double lr) {
        try {
            return runInScope(objective, batch, step, epoch, lr);
        } finally {
            NativeHeap.afterStep(heapBound);  // the step's arrays are closed: freed memory over the bound goes back
        }
    }

    private StepOutcome runInScope(StepObjective objective, Batch batch, long step, int epoch, double lr) {
        try (NDManager scope = base.newSubManager()) {
            if (timings != null) timings.stepBegins(scope);
            BatchTensors tensors = BatchTensors.of(batch, scope);
            StepObjective.Forward forward = objective.begin(tensors, scope, step, epoch);
            Objective.Parts loss;
            try (GradientCollector collector = engine.newGradientCollector()) {
                try {
                    loss = forward.loss();
                } catch (ModuleRoster.ModuleFailure f) {
                    forward.undo();
                    optimizer.zeroGradients();
                    return new StepOutcome.ModuleFailed(f);
                }
                // the backward runs before the loss is known finite: a non-finite step is undone below, and the
                // loss is read together with the gradients' flags in the step's one read
                long t = System.nanoTime();
                collector.backward(loss.total());
                time("backward", t, tensors);
            }
            AdamW.Flags flags = optimizer.flags(scope);
            NDArray stacked = flags.array() == null ? loss.values() : loss.values().concat(flags.array());
            float[] read = HostTransfers.floats(stacked);
            Map<String, Double> terms = new LinkedHashMap<>(loss.read(read, 0).values());
            double value = terms.getOrDefault(Objective.TOTAL, Double.NaN);
            if (!Double.isFinite(value)) {
                forward.undo();
                optimizer.zeroGradients();
                return new StepOutcome.NonFinite(terms, List.of());
            }
            int offset = loss.names().size();
            if (!optimizer.allFinite(flags, read, offset)) {
                List<String> badGradients = optimizer.offenders();  // read only now that the flag said so
                terms.put(Objective.TOTAL, Double.NaN);
                forward.undo();
                optimizer.zeroGradients();
                return new StepOutcome.NonFinite(terms, badGradients);
            }
            long t = System.nanoTime();
            optimizer.step(lr, flags, read, offset);
            optimizer.zeroGradients();
            time("optimizer", t, tensors);
            return new StepOutcome.Done(terms, loss.weights(), value);
        }
    }

    private void time(String phase, long from, BatchTensors tensors) {
        if (timings != null) timings.end(phase, from, tensors.images());
    }
}
