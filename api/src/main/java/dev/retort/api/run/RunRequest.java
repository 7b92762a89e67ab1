package dev.retort.api.run;

import dev.retort.api.error.RetortConfigException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * A request to start a run.
 *
 * @param description the run's flat keys, as in a run file (see the README's "Training"); checked by {@link Runner#plan}
 * @param resume      a checkpoint to continue from, or {@code null}
 * @param overwrite   start again in a run folder that holds an earlier run (its files are deleted); excludes {@code resume}
 * @param console     where the run's log lines and progress go ({@code train.log} gets them in any case)
 * @param listener    receives every event of this run, in order, on a thread of its own
 *                    (may be {@code null}); {@link TrainingRun#completion()} completes after it has received the last one
 * @param timedFrom   the step from which step times are measured for {@link RunResult#meanStepMillis()} (benchmarks
 *                    leave out their warm-up); 0 times every step
 */
public record RunRequest(Map<String, ?> description, Path resume, boolean overwrite, PrintStream console, RunListener listener, long timedFrom) {
    public RunRequest {
        Objects.requireNonNull(description, "description");
        description = new TreeMap<>(description);
        if (resume != null && overwrite) throw new RetortConfigException("--resume continues a run, --overwrite starts one again: give one of them");
        console = console == null ? new PrintStream(PrintStream.nullOutputStream()) : console;
        if (timedFrom < 0) throw new RetortConfigException("timedFrom must be >= 0, got " + timedFrom);
    }

    /** A fresh run with its log on {@code console}. */
    public static RunRequest of(Map<String, ?> description, PrintStream console) {
        return new RunRequest(description, null, false, console, null, 0);
    }
}
