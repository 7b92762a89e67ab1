package dev.retort.runner.train;

import dev.retort.api.error.RetortConfigException;
import dev.retort.api.error.Failures;
import ai.djl.engine.Engine;
import dev.retort.api.backbone.Backbone;
import dev.retort.api.data.SegmentationDataset;
import dev.retort.api.distill.Distiller;
import dev.retort.api.run.ModuleRef;
import dev.retort.api.run.RunConfig;
import dev.retort.api.run.RunEvent;
import dev.retort.api.run.RunPlan;
import dev.retort.api.run.RunResult;
import dev.retort.api.run.RunState;
import dev.retort.api.run.RunStatus;
import dev.retort.api.run.TrainingRun;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * One distillation run as the api's {@link TrainingRun}: what clients ask (pause, stop, kd:enable/kd:disable, module
 * changes) goes to its {@link RunControl}, what they read comes from one {@link RunSnapshot}; the training itself is
 * the {@link FitLoop}, on the thread that calls {@link #run()}. Swaps, pauses and stops take effect at the next step
 * boundary, never inside a step.
 */
public final class Trainer implements TrainingRun, Runnable {
    /** What a run needs from the service registry; implemented by the runner component. */
    public interface Services {
        Engine engine();

        Backbone backbone(String variant);

        SegmentationDataset dataset(String name);

        /** Currently registered distillers with a generation that changes when one is re-configured. */
        List<Registered> distillers();

        void publish(RunEvent event);
    }

    /** A registered distiller. */
    public record Registered(String name, Distiller distiller, long generation) {}

    private final String id;
    private final RunSettings settings;
    private final Services services;
    private final RunControl control = new RunControl();
    private final RunSnapshot.Board board = new RunSnapshot.Board();
    private final LossHistory history = new LossHistory();
    private final Timings timings = new Timings();
    private final RunEvents events;
    private final FitLoop loop;
    private final CompletableFuture<RunResult> completion = new CompletableFuture<>();

    public Trainer(String id, RunSettings settings, Services services, Path resume, PrintStream log) {
        this(id, settings, services, resume, log, null, false);
    }

    /**
     * @param folder the run folder, already claimed by the caller (null: claimed when the run starts)
     * @param overwrite a new run may replace an earlier run's files in its folder (when the run claims it)
     */
    public Trainer(String id, RunSettings settings, Services services, Path resume, PrintStream log, RunFolder folder, boolean overwrite) {
        this.id = id;
        this.settings = settings;
        this.services = services;
        this.events = new RunEvents(id, log, board, services::publish);
        this.loop = new FitLoop(id, settings, services, resume, folder, overwrite, control, board, events, timings, history);
    }

    // ---- the run (training thread) -----------------------------------------------------------------------------

    @Override
    public void run() {
        board.update(s -> s.startedAt(Instant.now()));
        try {
            GradMode.offForThisThread();
            loop.fit();
            RunState end = control.stopRequested() ? RunState.STOPPED : RunState.FINISHED;
            RunSnapshot now = board.update(s -> s.withState(end).endedAt(Instant.now()));
            Map<String, Double> values = new LinkedHashMap<>();
            values.put("best_miou", now.scores().best());
            long[] skipped = now.skipped();
            values.put("skipped_train", (double) skipped[0]);
            values.put("skipped_val", (double) skipped[1]);
            if (skipped[0] + skipped[1] > 0) {
                events.log("samples skipped under data.on_error = skip: " + skipped[0] + " train, " + skipped[1]
                        + " validation (loads that failed; see the dataset's messages)");
            }
            events.event(RunEvent.Type.FINISHED, values, end.name().toLowerCase() + " after " + now.step() + " steps");
        } catch (NonFiniteLoss t) {
            board.update(s -> s.failed(RunState.STOPPED, t));
            events.event(RunEvent.Type.FAILED, Map.of(), Failures.describe(t));
        } catch (Throwable t) {
            board.update(s -> s.failed(RunState.FAILED, t));
            events.log("FAILED at step " + board.get().step() + ": " + Failures.describe(t));
            if (Failures.debug()) t.printStackTrace(events.console());
            events.event(RunEvent.Type.FAILED, Map.of(), Failures.describe(t));
        } finally {
            board.update(s -> s.ended() == null ? s.endedAt(Instant.now()) : s);
            loop.close();
        }
    }

    // ---- control (any thread) ----------------------------------------------------------------------------------

    @Override
    public String id() {
        return id;
    }

    @Override
    public RunConfig config() {
        return settings.run();
    }

    public RunSettings settings() {
        return settings;
    }

    @Override
    public RunStatus status() {
        RunSnapshot s = board.get();
        double ips = s.speed().imagesPerSecond();
        // an estimate only while the run runs: paused, stopped or finished, the time left is not a matter of speed
        double left = ips > 0 && s.state() == RunState.RUNNING ? (s.totalSteps() - s.step()) * settings.run().optimisation().batchSize() / ips : -1;
        return new RunStatus(s.state(), s.step(), s.totalSteps(), s.epoch(), s.last().losses(), s.last().weights(), ips, s.elapsed(),
                left < 0 ? null : Duration.ofSeconds((long) left), s.active(), control.disabled(), s.device(), s.preparing());
    }

    @Override
    public RunPlan plan() {
        return settings.plan();
    }

    @Override
    public RunResult result() {
        RunSnapshot s = board.get();
        long[] skipped = s.skipped();
        Path last = settings.output().resolve(Checkpointing.LAST), best = settings.output().resolve(Checkpointing.BEST);
        RunSnapshot.Scores scores = s.scores();
        return new RunResult(id, s.state(), s.step(), settings.output(), s.wroteLast() ? last : null, scores.best() >= 0 ? best : null, scores.best(),
                scores.last(), scores.bestEvaluation(), scores.table(), history.totals(), history.ce(), s.moduleParams(), s.speed().meanStepMillis(),
                timings.meanMillis(), s.elapsed(), skipped[0], skipped[1], s.failure() == null ? null : Failures.describe(s.failure()),
                timings.transfersPerStep(), timings.peakStepBytes(), timings.teacherTaps());
    }

    @Override
    public CompletionStage<RunResult> completion() {
        return completion.minimalCompletionStage();
    }

    /** Called by the runner once the run has ended and its own listener has had every event. */
    void complete() {
        completion.complete(result());
    }

    @Override
    public void pause() {
        control.pause();
    }

    @Override
    public void resume() {
        control.resume();
    }

    @Override
    public void stop() {
        control.stop();
    }

    /** The registry changed: rebuild the module set at the next step boundary. */
    public void modulesChanged() {
        control.modulesChanged();
    }

    /** Distiller {@code name} changed for {@code cause} (e.g. "bundle x stopped"): the next boundary acts and logs it. */
    public void modulesChanged(String name, String cause) {
        control.modulesChanged(name, cause);
    }

    /**
     * Leaves a module out of this run from the next step on ({@code kd:disable}); it keeps its parameters and
     * AdamW moments, so {@link #enable} continues from them.
     */
    @Override
    public void disable(String module) {
        requireUsable(module);
        control.disable(module, "kd:disable");
    }

    @Override
    public void enable(String module) {
        requireUsable(module);
        control.enable(module, "kd:enable");
    }

    /** A module kd:enable/kd:disable can act on: a registered distiller, and in a run with a module list, one of its list. */
    private void requireUsable(String module) {
        Set<String> known = new TreeSet<>();
        services.distillers().forEach(r -> known.add(r.name()));
        List<String> list = settings.run().modules().stream().map(ModuleRef::distiller).toList();
        if (!known.contains(module) && !list.contains(module)) {
            throw new RetortConfigException("unknown module " + module + " (known: " + (known.isEmpty() ? "none" : String.join(", ", known)) + ")");
        }
        if (settings.run().teacher() == null) throw new RetortConfigException(id + " has no teacher: it uses no modules");
        if (!settings.followRegistry() && !list.contains(module)) {
            throw new RetortConfigException(module + " is not in this run's module list (" + (list.isEmpty() ? "none" : String.join(", ", list)) + ")");
        }
    }

    /**
     * Refuses a run whose modules are not what it asks for, before anything is built (see {@link ModuleSet#check}).
     */
    public static void checkModules(RunSettings settings, List<Registered> distillers) {
        ModuleSet.check(settings, distillers);
    }

    public Set<String> disabledModules() {
        return Set.copyOf(control.disabled());
    }

    /** Total loss of every step done so far, in order. */
    public List<Double> lossHistory() {
        return history.totals();
    }

    /** Cross-entropy of every step done so far, in order (NaN for skipped steps). */
    public List<Double> ceHistory() {
        return history.ce();
    }

    /** Weight of each loss term of the last step, by term name ({@code ce} is 1; {@code total} is the weighted sum). */
    public Map<String, Double> lossWeights() {
        return board.get().last().weights();
    }

    /** Steps the run will take in all (known once the data is open; 0 before). */
    public long totalSteps() {
        return board.get().totalSteps();
    }

    /** Wall time since the run started, up to its end once it ended. */
    public Duration elapsed() {
        return board.get().elapsed();
    }

    /** Mean wall time of one training step (data, forwards, backward, optimizer; no evaluation or checkpoint), ms. */
    public double meanStepMillis() {
        return board.get().speed().meanStepMillis();
    }

    /** Samples skipped so far under {@code data.on_error = skip}: {train, validation}. */
    public long[] skippedSamples() {
        return board.get().skipped();
    }

    public Throwable failure() {
        return board.get().failure();
    }

    public double bestMiou() {
        return board.get().scores().best();
    }

    public double lastMiou() {
        return board.get().scores().last();
    }

    public String lastEvaluationTable() {
        return board.get().scores().table();
    }

    public Timings timings() {
        return timings;
    }

    /**
     * Restarts the step timings when the run reaches {@code step} (benchmarks skip the warm-up), and from then on ends
     * every timed phase with a device synchronisation; call before {@link #run()}.
     */
    public void resetTimingsAt(long step) {
        loop.timeFrom(step);
        timings.syncPhases();
    }

    /** The learning rate of a step of epoch {@code epochIndex} taken now (the schedule of {@link FitLoop#learningRate}). */
    double learningRate(int epochIndex) {
        return loop.learningRate(epochIndex, board.get().step());
    }

    /** A failure in one line, as everywhere in Retort ({@link Failures#describe}). */
    static String describe(Throwable t) {
        return Failures.describe(t);
    }

    public boolean finished() {
        return board.get().state().ended();
    }

    /** Managed NDArrays of the run's manager (including open step scopes); for leak checks. */
    public int liveArrays() {
        return loop.liveArrays();
    }

}
