package dev.retort.api.run;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import org.osgi.annotation.versioning.ProviderType;

/**
 * The training engine, registered as a service: everything that drives or watches training (shell commands,
 * studies, views) goes through it. One run at a time per runtime.
 */
@ProviderType
public interface Runner {
    /**
     * Checks a run description — every key known, every value valid, the backbones' and the named modules'
     * sections accepted by their services — without starting anything.
     *
     * @throws IllegalArgumentException naming the key, the closest known key or the value
     */
    RunPlan plan(Map<String, ?> description);

    /**
     * Checks that every key of {@code keys} is a run key or lies in a section ({@code teacher.}, {@code student.},
     * {@code data.}, {@code module.<name>.}); values are not checked.
     *
     * @param owner  who wrote the keys, for the message (e.g. {@code ablation.cfg arm 2})
     * @param prefix how the user wrote them (e.g. {@code arm.2.} or {@code --set })
     * @throws IllegalArgumentException naming the first unknown key and the closest known one
     */
    void requireKnownKeys(String owner, String prefix, Iterable<String> keys);

    /**
     * Reads a run file ({@code key = value} lines, Java properties syntax) into a description, without checking it.
     *
     * @throws IOException when the file is missing or unreadable
     */
    Map<String, Object> readRunFile(Path file) throws IOException;

    /** The description a run's checkpoint carries, checked. */
    RunPlan planOf(Path checkpoint) throws IOException;

    /**
     * Starts a run on a thread of its own, having claimed its run folder (locked: refused when another process holds
     * it, or when it holds an earlier run and the request neither resumes nor overwrites).
     *
     * @throws IllegalArgumentException when the description or a module is invalid
     * @throws IllegalStateException    when a run is in progress or the runtime is shutting down
     */
    TrainingRun start(RunRequest request) throws IOException;

    /** The run in progress, or the last one. */
    Optional<TrainingRun> current();

    /** Evaluates a checkpoint's student (in evaluation mode, without gradients) in the calling thread. */
    EvaluationReport evaluate(EvaluationRequest request) throws IOException;
}
