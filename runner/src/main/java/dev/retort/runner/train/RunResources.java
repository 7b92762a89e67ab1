package dev.retort.runner.train;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import dev.retort.api.backbone.SegmentationNetwork;
import dev.retort.api.data.DatasetInfo;
import dev.retort.api.distill.DistillContext;
import dev.retort.datasets.BatchLoader;
import dev.retort.distill.support.ModuleRoster;
import java.util.Map;

/**
 * What a run has built once its data is open, for the parts of the run that share it (the loop, the module set,
 * preparations): the engine and the run's manager, the networks, the training data and its size.
 *
 * @param teacher       the frozen teacher as the run uses it (cast to its precision), or null for a student-only run
 * @param shuffle       whether each epoch shuffles the training split (not for a dataset read in its own order)
 * @param stepsPerEpoch batches of the training split
 * @param totalSteps    steps the run takes in all
 */
record RunResources(Engine engine, NDManager base, String device, long seed, SegmentationNetwork student, SegmentationNetwork teacher,
                    DatasetInfo info, BatchLoader trainLoader, boolean shuffle, int stepsPerEpoch, long totalSteps) {

    /** Where this run's modules are built: its teacher's and student's taps, {@code manager}, the run's seed. */
    ModuleRoster.Factory factory(NDManager manager) {
        return new ModuleRoster.Factory(teacher.spec().taps(), student.spec().taps(), manager, seed);
    }

    /** What a distiller gets to build or re-configure a module of this run with {@code config}. */
    DistillContext context(Map<String, ?> config) {
        return factory(base).context(config);
    }
}
