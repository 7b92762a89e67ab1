package dev.retort.api.run;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;

/**
 * What a run produced; final once its state has {@linkplain RunState#ended() ended}.
 *
 * @param runId           the run
 * @param state           its state
 * @param steps           steps done
 * @param output          the run folder
 * @param lastCheckpoint  {@code last.safetensors}, or {@code null} before the first checkpoint
 * @param bestCheckpoint  {@code best.safetensors}, or {@code null} before the first evaluation
 * @param bestMiou        the best validation mIoU (a fraction), or -1 before the first evaluation
 * @param lastMiou        the last validation mIoU, or -1
 * @param bestEvaluation  the metrics of the best evaluation ({@code miou}, {@code pixel_accuracy}, {@code iou.<class>} in the
 *                        dataset's class order), empty before the first
 * @param evaluationTable the last evaluation as a per-class table
 * @param totalLosses     the total loss of every step, in order ({@code NaN} for a skipped step)
 * @param ceLosses        the cross-entropy of every step, in order ({@code NaN} for a skipped step)
 * @param moduleParams    trainable parameters of the modules in use (at the last module change)
 * @param meanStepMillis  mean wall time of a training step (data, forwards, backward, optimiser), from
 *                        {@link RunRequest#timedFrom()} on; {@code NaN} when none was timed
 * @param stepPhases      mean milliseconds per step of each phase ({@code data}, {@code teacher forward}, …), same steps
 * @param elapsed         wall time of the run
 * @param skippedTrain    training samples skipped under {@code data.on_error = skip}
 * @param skippedVal      validation samples skipped
 * @param failure         why the run failed or was stopped by a fault policy, or {@code null}
 * @param stepTransfers   host transfers per step, counted over the same steps as {@code stepPhases}: {@code uploads}
 *                        (arrays made from Java data), {@code reads} (arrays read into Java) and {@code syncs} (timers'
 *                        waits for a GPU); empty when no step was counted
 * @param stepArrayBytes  the most bytes the arrays of a timed step held through Java handles at the end of one of its
 *                        phases (what autograd keeps for the backward of released arrays is libtorch's and not counted);
 *                        -1 when the run was not timed (since 2.5)
 * @param teacherTaps     the teacher's taps the timed steps computed (what their modules read; a teacher stops before its
 *                        decode head when no module reads its logits), sorted; empty without a teacher, modules or a timed
 *                        step (since 2.5)
 */
public record RunResult(String runId, RunState state, long steps, Path output, Path lastCheckpoint, Path bestCheckpoint, double bestMiou,
                        double lastMiou, Map<String, Double> bestEvaluation, String evaluationTable, List<Double> totalLosses,
                        List<Double> ceLosses, long moduleParams, double meanStepMillis, Map<String, Double> stepPhases, Duration elapsed,
                        long skippedTrain, long skippedVal, String failure, Map<String, Double> stepTransfers, long stepArrayBytes,
                        Set<String> teacherTaps) {
    public RunResult {
        Objects.requireNonNull(runId, "runId");
        Objects.requireNonNull(state, "state");
        bestEvaluation = bestEvaluation == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(bestEvaluation));
        evaluationTable = evaluationTable == null ? "" : evaluationTable;
        totalLosses = totalLosses == null ? List.of() : Collections.unmodifiableList(new ArrayList<>(totalLosses));  // NaN allowed
        ceLosses = ceLosses == null ? List.of() : Collections.unmodifiableList(new ArrayList<>(ceLosses));
        stepPhases = stepPhases == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(stepPhases));
        elapsed = elapsed == null ? Duration.ZERO : elapsed;
        stepTransfers = stepTransfers == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(stepTransfers));
        teacherTaps = teacherTaps == null ? Set.of() : Collections.unmodifiableSet(new TreeSet<>(teacherTaps));
    }

    /** The 2.3 form, without {@code stepTransfers}. */
    public RunResult(String runId, RunState state, long steps, Path output, Path lastCheckpoint, Path bestCheckpoint, double bestMiou,
                     double lastMiou, Map<String, Double> bestEvaluation, String evaluationTable, List<Double> totalLosses,
                     List<Double> ceLosses, long moduleParams, double meanStepMillis, Map<String, Double> stepPhases, Duration elapsed,
                     long skippedTrain, long skippedVal, String failure) {
        this(runId, state, steps, output, lastCheckpoint, bestCheckpoint, bestMiou, lastMiou, bestEvaluation, evaluationTable, totalLosses, ceLosses,
                moduleParams, meanStepMillis, stepPhases, elapsed, skippedTrain, skippedVal, failure, Map.of(), -1, Set.of());
    }

    /** The 2.4 form, without {@code stepArrayBytes}. */
    public RunResult(String runId, RunState state, long steps, Path output, Path lastCheckpoint, Path bestCheckpoint, double bestMiou,
                     double lastMiou, Map<String, Double> bestEvaluation, String evaluationTable, List<Double> totalLosses,
                     List<Double> ceLosses, long moduleParams, double meanStepMillis, Map<String, Double> stepPhases, Duration elapsed,
                     long skippedTrain, long skippedVal, String failure, Map<String, Double> stepTransfers) {
        this(runId, state, steps, output, lastCheckpoint, bestCheckpoint, bestMiou, lastMiou, bestEvaluation, evaluationTable, totalLosses, ceLosses,
                moduleParams, meanStepMillis, stepPhases, elapsed, skippedTrain, skippedVal, failure, stepTransfers, -1, Set.of());
    }
}
