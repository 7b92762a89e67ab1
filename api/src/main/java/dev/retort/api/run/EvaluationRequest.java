package dev.retort.api.run;

import dev.retort.api.error.RetortConfigException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Objects;

/**
 * Evaluates the student of a run's checkpoint.
 *
 * @param checkpoint a checkpoint written by a run (it carries the run's description)
 * @param dataset    dataset name, or {@code null} for the run's own
 * @param root       dataset root, or {@code null} for the run's own (when the dataset is the run's)
 * @param split      split, or {@code null} for the run's validation split
 * @param batches    batches to evaluate, 0 = all
 * @param console    where progress goes (may be {@code null})
 */
public record EvaluationRequest(Path checkpoint, String dataset, Path root, String split, int batches, PrintStream console) {
    public EvaluationRequest {
        Objects.requireNonNull(checkpoint, "checkpoint");
        if (batches < 0) throw new RetortConfigException("batches must be >= 0 (0 = all), got " + batches);
    }
}
