package dev.retort.api.run;

import dev.retort.api.error.RetortConfigException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;

/**
 * Evaluates the student of a run's checkpoint, or a published weights file as the network a run description names.
 *
 * @param checkpoint a checkpoint written by a run (it carries the run's description), or, with {@code run}, any weights
 *                   file or folder Retort reads (safetensors, a PyTorch checkpoint, a Hugging Face folder, a shard index)
 * @param run        for a file that carries no run: run-file keys naming the network ({@code student}, {@code student.*})
 *                   and the data ({@code dataset}, {@code data.*}, {@code batch_size}, {@code threads}); {@code null} for
 *                   a run's checkpoint
 * @param dataset    dataset name, or {@code null} for the run's own
 * @param root       dataset root, or {@code null} for the run's own (when the dataset is the run's)
 * @param split      split, or {@code null} for the run's validation split
 * @param batches    batches to evaluate, 0 = all
 * @param console    where progress goes (may be {@code null})
 */
public record EvaluationRequest(Path checkpoint, Map<String, ?> run, String dataset, Path root, String split, int batches, PrintStream console) {
    public EvaluationRequest {
        Objects.requireNonNull(checkpoint, "checkpoint");
        run = run == null ? null : Map.copyOf(run);
        if (batches < 0) throw new RetortConfigException("batches must be >= 0 (0 = all), got " + batches);
    }

    /** A run's checkpoint (it names its network and data itself). */
    public EvaluationRequest(Path checkpoint, String dataset, Path root, String split, int batches, PrintStream console) {
        this(checkpoint, null, dataset, root, split, batches, console);
    }
}
