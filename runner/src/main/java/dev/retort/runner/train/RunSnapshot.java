package dev.retort.runner.train;

import dev.retort.api.data.SampleSource;
import dev.retort.api.run.RunState;
import dev.retort.api.run.RunStatus;
import java.time.Duration;
import java.time.Instant;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.UnaryOperator;

/**
 * Everything a client may read of a run at one moment, as one immutable value: the training thread builds the next
 * snapshot and swaps it in ({@link Board}), so a reader never sees a step count of one step with the losses of
 * another.
 *
 * @param last      the loss terms and their weights of the last step done
 * @param speed     throughput and step time
 * @param scores    evaluation results
 * @param sources   the open splits (their skipped-sample counters), or null before the data is open
 */
record RunSnapshot(RunState state, long step, long totalSteps, int epoch, LastStep last, Speed speed, Instant started, Instant ended,
                   List<String> active, long moduleParams, List<RunStatus.Preparing> preparing, String device, Scores scores,
                   boolean wroteLast, Throwable failure, Sources sources) {

    static final RunSnapshot STARTING = new RunSnapshot(RunState.STARTING, 0, 0, 0, LastStep.NONE, Speed.NONE, null, null, List.of(), 0,
            List.of(), "?", Scores.NONE, false, null, null);

    /** The loss terms of the last step (unweighted, {@code total} last) and each term's weight. */
    record LastStep(Map<String, Double> losses, Map<String, Double> weights) {
        static final LastStep NONE = new LastStep(Map.of(), Map.of());

        LastStep {
            losses = Collections.unmodifiableMap(new LinkedHashMap<>(losses));  // keeps the order
            weights = Collections.unmodifiableMap(new LinkedHashMap<>(weights));
        }
    }

    /** Recent throughput (a moving average) and the summed wall time of the timed steps. */
    record Speed(double imagesPerSecond, long stepNanos, long stepsTimed) {
        static final Speed NONE = new Speed(0, 0, 0);

        /** Mean wall time of one timed step in ms, NaN before the first. */
        double meanStepMillis() {
            return stepsTimed == 0 ? Double.NaN : stepNanos / 1e6 / stepsTimed;
        }
    }

    /** Evaluation results: best and last mIoU (-1 before the first), the last per-class table, the best's metrics. */
    record Scores(double best, double last, String table, Map<String, Double> bestEvaluation) {
        static final Scores NONE = new Scores(-1, -1, "", Map.of());

        Scores {
            bestEvaluation = Collections.unmodifiableMap(new LinkedHashMap<>(bestEvaluation));  // keeps the class order
        }
    }

    /** The run's open splits. */
    record Sources(SampleSource train, SampleSource val) {
        /** Samples skipped so far under {@code data.on_error = skip}: {train, validation}. */
        long[] skipped() {
            return new long[] {train == null ? 0 : train.skipped(), val == null ? 0 : val.skipped()};
        }
    }

    RunSnapshot withState(RunState s) {
        return new RunSnapshot(s, step, totalSteps, epoch, last, speed, started, ended, active, moduleParams, preparing, device, scores, wroteLast, failure, sources);
    }

    RunSnapshot atStep(long s) {
        return new RunSnapshot(state, s, totalSteps, epoch, last, speed, started, ended, active, moduleParams, preparing, device, scores, wroteLast, failure, sources);
    }

    RunSnapshot inEpoch(int e) {
        return new RunSnapshot(state, step, totalSteps, e, last, speed, started, ended, active, moduleParams, preparing, device, scores, wroteLast, failure, sources);
    }

    RunSnapshot withTotalSteps(long t) {
        return new RunSnapshot(state, step, t, epoch, last, speed, started, ended, active, moduleParams, preparing, device, scores, wroteLast, failure, sources);
    }

    RunSnapshot withLast(LastStep l) {
        return new RunSnapshot(state, step, totalSteps, epoch, l, speed, started, ended, active, moduleParams, preparing, device, scores, wroteLast, failure, sources);
    }

    RunSnapshot withSpeed(Speed s) {
        return new RunSnapshot(state, step, totalSteps, epoch, last, s, started, ended, active, moduleParams, preparing, device, scores, wroteLast, failure, sources);
    }

    RunSnapshot startedAt(Instant t) {
        return new RunSnapshot(state, step, totalSteps, epoch, last, speed, t, ended, active, moduleParams, preparing, device, scores, wroteLast, failure, sources);
    }

    RunSnapshot endedAt(Instant t) {
        return new RunSnapshot(state, step, totalSteps, epoch, last, speed, started, t, active, moduleParams, preparing, device, scores, wroteLast, failure, sources);
    }

    RunSnapshot withModules(List<String> a, long params) {
        return new RunSnapshot(state, step, totalSteps, epoch, last, speed, started, ended, List.copyOf(a), params, preparing, device, scores, wroteLast, failure, sources);
    }

    RunSnapshot withPreparing(List<RunStatus.Preparing> p) {
        return new RunSnapshot(state, step, totalSteps, epoch, last, speed, started, ended, active, moduleParams, List.copyOf(p), device, scores, wroteLast, failure, sources);
    }

    RunSnapshot onDevice(String d) {
        return new RunSnapshot(state, step, totalSteps, epoch, last, speed, started, ended, active, moduleParams, preparing, d, scores, wroteLast, failure, sources);
    }

    RunSnapshot withScores(Scores s) {
        return new RunSnapshot(state, step, totalSteps, epoch, last, speed, started, ended, active, moduleParams, preparing, device, s, wroteLast, failure, sources);
    }

    RunSnapshot lastWritten() {
        return new RunSnapshot(state, step, totalSteps, epoch, last, speed, started, ended, active, moduleParams, preparing, device, scores, true, failure, sources);
    }

    RunSnapshot failed(RunState s, Throwable f) {
        return new RunSnapshot(s, step, totalSteps, epoch, last, speed, started, ended, active, moduleParams, preparing, device, scores, wroteLast, f, sources);
    }

    RunSnapshot withSources(Sources s) {
        return new RunSnapshot(state, step, totalSteps, epoch, last, speed, started, ended, active, moduleParams, preparing, device, scores, wroteLast, failure, s);
    }

    /** Wall time since the run started, up to its end once it ended. */
    Duration elapsed() {
        if (started == null) return Duration.ZERO;
        return Duration.between(started, ended == null ? Instant.now() : ended);
    }

    /** Samples skipped so far: {train, validation}. */
    long[] skipped() {
        return sources == null ? new long[2] : sources.skipped();
    }

    /** The one current snapshot of a run, swapped whole. */
    static final class Board {
        private final AtomicReference<RunSnapshot> now = new AtomicReference<>(STARTING);

        RunSnapshot get() {
            return now.get();
        }

        /** Replaces the snapshot by {@code change} of it. */
        RunSnapshot update(UnaryOperator<RunSnapshot> change) {
            return now.updateAndGet(change);
        }
    }
}
