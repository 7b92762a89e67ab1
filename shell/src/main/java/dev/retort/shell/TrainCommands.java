package dev.retort.shell;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import dev.retort.api.backbone.Backbone;
import dev.retort.api.backbone.LoadMode;
import dev.retort.api.backbone.SegmentationNetwork;
import dev.retort.api.data.DatasetInfo;
import dev.retort.api.data.DatasetRequest;
import dev.retort.api.data.SampleSource;
import dev.retort.api.data.SegmentationDataset;
import dev.retort.api.error.RetortConfigException;
import dev.retort.api.run.EvaluationReport;
import dev.retort.api.run.EvaluationRequest;
import dev.retort.api.run.ModelRef;
import dev.retort.api.run.RunPlan;
import dev.retort.api.run.RunRequest;
import dev.retort.api.run.RunResult;
import dev.retort.api.run.RunState;
import dev.retort.api.run.RunStatus;
import dev.retort.api.run.Runner;
import dev.retort.api.run.TrainingRun;
import dev.retort.nn.Keys;
import dev.retort.osgi.ServiceLookup;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import org.apache.felix.service.command.Descriptor;
import org.apache.felix.service.command.Parameter;
import org.osgi.annotation.bundle.Header;
import org.osgi.framework.BundleContext;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;

/** Training commands: kd:train, kd:status, kd:stop, kd:pause, kd:resume, kd:enable, kd:disable, kd:export, kd:eval. */
// runs configured in ConfigAdmin are read here, not by a component: the header tells the launcher's conf/ check
@Header(name = "Retort-Configuration-Pids", value = TrainCommands.RUN_PID)
@Component(service = TrainCommands.class, property = {"osgi.command.scope=kd", "osgi.command.function=train",
        "osgi.command.function=status", "osgi.command.function=stop", "osgi.command.function=pause", "osgi.command.function=resume",
        "osgi.command.function=enable", "osgi.command.function=disable", "osgi.command.function=export", "osgi.command.function=eval"})
public class TrainCommands {
    /** Framework property the launcher sets in command mode: commands then run in the foreground. */
    public static final String COMMAND_MODE = "retort.command.mode";

    @Reference
    Runner runner;

    @Reference(target = "(engine.name=PyTorch)")
    Engine engine;

    /** Runs may also be configured in ConfigAdmin under this factory PID. */
    static final String RUN_PID = "dev.retort.run";

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    volatile ConfigurationAdmin configAdmin;

    private BundleContext context;

    @Activate
    void activate(BundleContext context) {
        this.context = context;
    }

    boolean foreground() {
        return Boolean.parseBoolean(context.getProperty(COMMAND_MODE));
    }

    @Descriptor("train from a run file; in the shell the run goes to the background (kd:status follows it), in command mode it runs"
            + " in the foreground and the exit status says whether it finished")
    public String train(@Descriptor("continue from a checkpoint") @Parameter(names = "--resume", absentValue = "") String resume,
                        @Descriptor("start again in a run folder that holds an earlier run: its metrics.jsonl, train.log, run.cfg and"
                                + " checkpoints are deleted (without it, a non-empty run folder is refused)")
                        @Parameter(names = "--overwrite", presentValue = "true", absentValue = "false") boolean overwrite,
                        @Descriptor("override keys, once, as one comma-separated list, e.g. iterations=20,seed=3") @Parameter(names = "--set", absentValue = "") String set,
                        @Descriptor("run file (.cfg), or the name of a run configured in ConfigAdmin (factory PID dev.retort.run,"
                                + " e.g. conf/dev.retort.run-demo.cfg)") String file) throws IOException, InterruptedException {
        Path path = Path.of(file).toAbsolutePath();
        Map<String, Object> description = Files.isRegularFile(path) ? runner.readRunFile(path) : configured(file);
        if (!set.isEmpty()) {
            Map<String, Object> overrides = Keys.overrides(set);
            runner.requireKnownKeys("--set", "", overrides.keySet());
            description.putAll(overrides);
        }
        if (overwrite && !resume.isEmpty()) throw new RetortConfigException("--resume continues a run, --overwrite starts one again: give one of them");
        return start(description, resume.isEmpty() ? null : Path.of(resume).toAbsolutePath(), overwrite);
    }

    String start(Map<String, Object> description, Path resume, boolean overwrite) throws IOException, InterruptedException {
        boolean fg = foreground();
        PrintStream log = fg ? System.out : new PrintStream(OutputStream.nullOutputStream());
        TrainingRun t = runner.start(new RunRequest(description, resume, overwrite, log, null, 0));
        if (!fg) return "started run " + t.id() + " in the background; kd:status follows it, its log is " + t.plan().output().resolve("train.log");
        RunResult r = await(t);
        if (r.state() == RunState.FAILED) throw new IllegalStateException("run " + t.id() + " failed: " + r.failure());
        return summary(r);
    }

    /** Waits for a run's end (the runner completes it; nothing is polled). */
    static RunResult await(TrainingRun t) throws InterruptedException {
        try {
            return t.completion().toCompletableFuture().get();
        } catch (ExecutionException e) {
            throw new IllegalStateException("run " + t.id() + ": " + e.getCause().getMessage(), e.getCause());
        }
    }

    static String summary(RunResult r) {
        return String.format("run %s %s after %d steps; best mIoU %.2f%%; outputs in %s%n", r.runId(), r.state().name().toLowerCase(), r.steps(),
                100 * Math.max(0, r.bestMiou()), r.output())
                + (r.skippedTrain() + r.skippedVal() > 0
                        ? String.format("samples skipped (data.on_error = skip): %d train, %d validation%n", r.skippedTrain(), r.skippedVal()) : "");
    }

    @Descriptor("train the only run configured in ConfigAdmin (factory PID dev.retort.run)")
    public String train() throws IOException, InterruptedException {
        return start(configured(null), null, false);
    }

    /** A run from ConfigAdmin: factory PID {@code dev.retort.run}, chosen by its {@code name} (or the only one). */
    private Map<String, Object> configured(String name) throws IOException {
        ConfigurationAdmin admin = configAdmin;
        if (admin == null) throw new RetortConfigException("no run file " + name + " and no ConfigAdmin to look a run up in");
        Configuration[] all;
        try {
            all = admin.listConfigurations("(service.factoryPid=" + RUN_PID + ")");
        } catch (InvalidSyntaxException e) {
            throw new IllegalStateException(e);
        }
        List<Configuration> runs = all == null ? List.of() : Arrays.asList(all);
        List<Map<String, Object>> matches = new ArrayList<>();
        for (Configuration c : runs) {
            Map<String, Object> m = new LinkedHashMap<>();
            var props = c.getProperties();
            for (var keys = props.keys(); keys.hasMoreElements(); ) {
                String k = keys.nextElement();
                if (!k.startsWith("service.") && !k.startsWith("felix.")) m.put(k, props.get(k));
            }
            if (name == null || name.equals(String.valueOf(m.get("name")))) matches.add(m);
        }
        if (matches.size() != 1) {
            throw new RetortConfigException((name == null ? "kd:train needs a run file" : "no run file " + name) + ": found "
                    + matches.size() + " matching run configurations (factory PID " + RUN_PID + ", e.g. conf/" + RUN_PID + "-demo.cfg)");
        }
        return matches.get(0);
    }

    @Descriptor("state, step/total, epoch, elapsed time, images/s, ETA (while running), device, active modules and the last step's"
            + " loss terms with their weights")
    public String status() {
        return status(current());
    }

    /**
     * kd:status of a run. Loss terms come in the order the step computed them (cross-entropy, then each module's
     * terms by module name), each with its unweighted value and its weight; {@code total} is Σ weight·value.
     */
    static String status(TrainingRun t) {
        RunStatus s = t.status();
        RunResult r = t.result();
        StringBuilder out = new StringBuilder();
        String eta = s.state() == RunState.RUNNING ? ", ETA " + (s.eta() == null ? "?" : duration(s.eta())) : "";
        out.append(String.format("run %s: %s, step %d/%d, epoch %d, elapsed %s, %.2f images/s%s, device %s%n", t.id(), s.state(), s.step(),
                s.totalSteps(), s.epoch(), duration(s.elapsed()), s.imagesPerSecond(), eta, s.device()));
        out.append("  modules ").append(s.activeModules().isEmpty() ? "none" : String.join(", ", s.activeModules()));
        if (!s.disabledModules().isEmpty()) out.append(" (disabled: ").append(String.join(", ", new TreeSet<>(s.disabledModules()))).append(')');
        out.append('\n');
        for (RunStatus.Preparing p : s.preparing()) {
            out.append(String.format("  preparing %s before it distils: step %d/%d, loss %.5f%n", p.module(), p.step(), p.steps(), p.loss()));
        }
        if (!s.losses().isEmpty()) {
            Map<String, Double> weights = s.lossWeights();
            out.append(String.format("  %-16s %12s %8s %12s%n", "loss term", "unweighted", "weight", "weighted"));
            s.losses().forEach((k, v) -> {
                if (k.equals("total")) return;
                Double w = weights.get(k);
                out.append(w == null ? String.format("  %-16s %12.6f%n", k, v) : String.format("  %-16s %12.6f %8.4g %12.6f%n", k, v, w, w * v));
            });
            if (s.losses().containsKey("total")) out.append(String.format("  %-16s %12s %8s %12.6f%n", "total", "", "", s.losses().get("total")));
        }
        if (r.skippedTrain() + r.skippedVal() > 0) {
            out.append(String.format("  skipped samples (data.on_error = skip): %d train, %d validation%n", r.skippedTrain(), r.skippedVal()));
        }
        if (r.bestMiou() >= 0) out.append(String.format("  best mIoU %.2f%%, last %.2f%%%n", 100 * r.bestMiou(), 100 * r.lastMiou()));
        if (r.failure() != null) out.append("  failure: ").append(r.failure()).append('\n');
        return out.toString();
    }

    /** 1h02m03s, 2m05s, 7s. */
    static String duration(Duration d) {
        long sec = Math.max(0, d.getSeconds());
        if (sec >= 3600) return String.format("%dh%02dm%02ds", sec / 3600, sec % 3600 / 60, sec % 60);
        if (sec >= 60) return String.format("%dm%02ds", sec / 60, sec % 60);
        return sec + "s";
    }

    @Descriptor("stop the current run at the next step boundary (the last checkpoint is kept)")
    public String stop() {
        TrainingRun t = live();
        t.stop();
        return "stopping " + t.id() + " at the next step boundary";
    }

    @Descriptor("pause the current run at the next step boundary")
    public String pause() {
        TrainingRun t = live();
        t.pause();
        return "pausing " + t.id();
    }

    @Descriptor("resume a paused run")
    public String resume() {
        TrainingRun t = live();
        t.resume();
        return "resuming " + t.id();
    }

    @Descriptor("bring a module back into the current run from the next step")
    public String enable(@Descriptor("module name") String module) {
        TrainingRun t = live();
        if (!t.status().disabledModules().contains(module)) {
            if (!t.status().activeModules().contains(module)) t.enable(module);  // refuses a module this run cannot use
            return module + " is not disabled in " + t.id() + "; nothing to do";
        }
        t.enable(module);
        return module + " enabled from the next step of " + t.id();
    }

    @Descriptor("leave a module out of the current run from the next step, without touching its bundle")
    public String disable(@Descriptor("module name") String module) {
        TrainingRun t = live();
        if (t.status().disabledModules().contains(module)) return module + " is already disabled in " + t.id();
        t.disable(module);  // refuses a module this run cannot use
        return module + " disabled from the next step of " + t.id();
    }

    /** The run in progress; pause, stop and module changes mean nothing once it has ended. */
    private TrainingRun live() {
        TrainingRun t = runner.current().orElseThrow(() -> new IllegalStateException("no run in progress: start one with kd:train <run file>"));
        RunState state = t.status().state();
        if (state.ended()) throw new IllegalStateException("no run in progress (the last one, " + t.id() + ", is " + state.name().toLowerCase() + ")");
        return t;
    }

    @Descriptor("export the student of a checkpoint (default: the last run's best) as safetensors; --naming hf writes a transformers"
            + " model directory (model.safetensors + config.json with the dataset's class names) when the target is a directory or"
            + " does not end with .safetensors")
    public String export(@Descriptor("checkpoint to export from") @Parameter(names = "--from", absentValue = "") String from,
                         @Descriptor("reference or hf") @Parameter(names = "--naming", absentValue = "reference") String naming,
                         @Descriptor("output file or directory") String file) throws IOException {
        Path checkpoint = from.isEmpty() ? lastCheckpoint() : Path.of(from).toAbsolutePath();
        RunPlan run = runner.planOf(checkpoint);
        ModelRef student = run.config().student();
        Path out = Path.of(file).toAbsolutePath();
        boolean directory = naming.equals("hf") && (Files.isDirectory(out) || !out.getFileName().toString().endsWith(".safetensors"));
        return withBackbone(student.variant(), backbone -> {
            try (NDManager m = engine.newBaseManager(); SegmentationNetwork net = backbone.build(student.variant(), student.config(), m, 0)) {
                net.load(checkpoint, LoadMode.STRICT);
                DatasetInfo labels = directory ? labels(run, net.spec().classes()) : null;
                net.save(out, naming, labels);
                return "student " + student.variant() + " of " + checkpoint + " -> " + out + (directory ? "/ (model.safetensors, config.json)" : "")
                        + " (" + naming + " naming)" + (!directory ? "" : labels == null ? "; class names unknown: id2label says class_0 …"
                        : "; id2label: the " + labels.classes().size() + " classes of " + labels.name() + " (" + run.config().data().protocol() + " protocol)"
                        + (labels.ignoreClass() < net.spec().classes() ? ", " + labels.ignoreClass() + " = ignore (semantic_loss_ignore_index " + labels.ignoreClass() + ")" : ""));
            }
        });
    }

    /** Work with the backbone service that builds {@code variant} (best ranked), released afterwards. */
    private String withBackbone(String variant, IoFunction<Backbone> use) throws IOException {
        try {
            return Backbones.with(context, variant, b -> {
                try {
                    return use.apply(b);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }).orElseThrow(() -> Backbones.unknown(context, variant));
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }

    @FunctionalInterface
    private interface IoFunction<T> {
        String apply(T t) throws IOException;
    }

    @Descriptor("evaluate the student of a run's checkpoint (default: the run's dataset, val split), or a published weights file"
            + " as --variant V (or the student of --run FILE) on --dataset D --root R")
    public String eval(@Descriptor("dataset name") @Parameter(names = "--dataset", absentValue = "") String dataset,
                       @Descriptor("dataset root") @Parameter(names = "--root", absentValue = "") String root,
                       @Descriptor("split") @Parameter(names = "--split", absentValue = "") String split,
                       @Descriptor("batches to evaluate, 0 = all") @Parameter(names = "--limit", absentValue = "0") int limit,
                       @Descriptor("a published file's network: a backbone variant") @Parameter(names = "--variant", absentValue = "") String variant,
                       @Descriptor("a published file's network and data: a run file (student, student.*, dataset, data.*)")
                       @Parameter(names = "--run", absentValue = "") String runFile,
                       @Descriptor("checkpoint written by a run, or a published weights file with --variant/--run") String weights) throws IOException {
        Path checkpoint = Path.of(weights).toAbsolutePath();
        Map<String, Object> published = null;
        if (!runFile.isEmpty()) published = new LinkedHashMap<>(runner.readRunFile(Path.of(runFile).toAbsolutePath()));
        if (!variant.isEmpty()) {
            if (published == null) published = new LinkedHashMap<>();
            published.put("student", variant);
        }
        EvaluationReport r = runner.evaluate(new EvaluationRequest(checkpoint, published, dataset.isEmpty() ? null : dataset,
                root.isEmpty() ? null : Path.of(root).toAbsolutePath(), split.isEmpty() ? null : split, limit, System.out));
        return String.format("%s on %s %s (%d pixels)%n", checkpoint.getFileName(), r.dataset(), r.split(), r.pixels()) + r.table();
    }

    /**
     * The label space of a run's dataset under its protocol: from the opened validation split when the data is here,
     * else the dataset's own (TransKD protocol) description when it fits the network; null when neither is known.
     */
    private DatasetInfo labels(RunPlan run, int outputs) {
        var data = run.config().data();
        return ServiceLookup.withFirst(context, SegmentationDataset.class, ServiceLookup.equalsFilter(SegmentationDataset.NAME_PROPERTY, data.dataset()), dataset -> {
            Map<String, Object> options = new LinkedHashMap<>(data.options());
            options.put("augment", false);
            try (SampleSource source = dataset.open(new DatasetRequest(data.root(), data.valSplit(), data.protocol(), options))) {
                if (source.info().outputs() == outputs) return source.info();
            } catch (IOException | RuntimeException e) {
                // the data is not on this machine: fall back to the dataset's description
            }
            DatasetInfo info = dataset.info();
            return info.outputs() == outputs && data.protocol().equals("transkd") ? info : null;
        }).orElse(null);
    }

    private TrainingRun current() {
        return runner.current().orElseThrow(() -> new IllegalStateException("no run yet: start one with kd:train <run file>"));
    }

    private Path lastCheckpoint() {
        TrainingRun t = current();
        Path dir = t.plan().output();
        Path best = dir.resolve("best.safetensors");
        if (Files.exists(best)) return best;
        Path last = dir.resolve("last.safetensors");
        if (Files.exists(last)) return last;
        throw new IllegalStateException("run " + t.id() + " has written no checkpoint yet");
    }
}
