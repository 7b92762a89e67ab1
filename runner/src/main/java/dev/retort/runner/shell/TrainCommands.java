package dev.retort.runner.shell;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import dev.retort.api.backbone.LoadMode;
import dev.retort.api.backbone.SegmentationNetwork;
import dev.retort.api.data.DatasetInfo;
import dev.retort.api.data.DatasetRequest;
import dev.retort.api.data.SampleSource;
import dev.retort.api.data.SegmentationDataset;
import dev.retort.api.run.RunStatus;
import dev.retort.runner.data.BatchLoader;
import dev.retort.runner.eval.ConfusionMatrix;
import dev.retort.runner.eval.Evaluation;
import dev.retort.runner.train.GradMode;
import dev.retort.runner.train.RunSettings;
import dev.retort.runner.train.RunnerService;
import dev.retort.runner.train.Trainer;
import dev.retort.safetensors.SafeTensorsFile;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.felix.service.command.Descriptor;
import org.apache.felix.service.command.Parameter;
import org.osgi.annotation.bundle.Header;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

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
    RunnerService runner;

    @Reference(target = "(engine.name=PyTorch)")
    Engine engine;

    /** Runs may also be configured in ConfigAdmin under this factory PID. */
    static final String RUN_PID = "dev.retort.run";

    @Reference(cardinality = org.osgi.service.component.annotations.ReferenceCardinality.OPTIONAL,
            policy = org.osgi.service.component.annotations.ReferencePolicy.DYNAMIC)
    volatile org.osgi.service.cm.ConfigurationAdmin configAdmin;

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
                        @Descriptor("override keys, e.g. iterations=20,seed=3") @Parameter(names = "--set", absentValue = "") String set,
                        @Descriptor("run file (.cfg), or the name of a run configured in ConfigAdmin (factory PID dev.retort.run,"
                                + " e.g. conf/dev.retort.run-demo.cfg)") String file) throws IOException, InterruptedException {
        Path path = Path.of(file).toAbsolutePath();
        RunSettings settings = Files.isRegularFile(path) ? RunSettings.read(path) : configured(file);
        if (!set.isEmpty()) {
            Map<String, Object> overrides = pairs(set);
            RunSettings.requireKnown("--set", "", overrides.keySet());
            settings = settings.with(overrides);
        }
        if (overwrite && !resume.isEmpty()) throw new IllegalArgumentException("--resume continues a run, --overwrite starts one again: give one of them");
        return start(settings, resume.isEmpty() ? null : Path.of(resume).toAbsolutePath(), overwrite);
    }

    String start(RunSettings settings, Path resume, boolean overwrite) throws IOException, InterruptedException {
        boolean fg = foreground();
        PrintStream log = fg ? System.out : new PrintStream(OutputStream.nullOutputStream());
        Trainer t = runner.start(settings, resume, overwrite, log);
        if (!fg) return "started run " + t.id() + " in the background; kd:status follows it, its log is " + settings.output().resolve("train.log");
        while (!t.finished()) Thread.sleep(100);
        if (t.failure() != null && t.status().state().equals("FAILED")) {
            throw new IllegalStateException("run " + t.id() + " failed: " + t.failure().getMessage(), t.failure());
        }
        return summary(t);
    }

    static String summary(Trainer t) {
        RunStatus s = t.status();
        long[] skipped = t.skippedSamples();
        return String.format("run %s %s after %d steps; best mIoU %.2f%%; outputs in %s%n", t.id(), s.state().toLowerCase(), s.step(),
                100 * Math.max(0, t.bestMiou()), t.settings().output())
                + (skipped[0] + skipped[1] > 0 ? String.format("samples skipped (data.on_error = skip): %d train, %d validation%n", skipped[0], skipped[1]) : "");
    }

    @Descriptor("train the only run configured in ConfigAdmin (factory PID dev.retort.run)")
    public String train() throws IOException, InterruptedException {
        return start(configured(null), null, false);
    }

    /** A run from ConfigAdmin: factory PID {@code dev.retort.run}, chosen by its {@code name} (or the only one). */
    private RunSettings configured(String name) throws IOException {
        org.osgi.service.cm.ConfigurationAdmin admin = configAdmin;
        if (admin == null) throw new IllegalArgumentException("no run file " + name + " and no ConfigAdmin to look a run up in");
        org.osgi.service.cm.Configuration[] all;
        try {
            all = admin.listConfigurations("(service.factoryPid=" + RUN_PID + ")");
        } catch (org.osgi.framework.InvalidSyntaxException e) {
            throw new IllegalStateException(e);
        }
        java.util.List<org.osgi.service.cm.Configuration> runs = all == null ? java.util.List.of() : java.util.Arrays.asList(all);
        java.util.List<java.util.Map<String, Object>> matches = new java.util.ArrayList<>();
        for (org.osgi.service.cm.Configuration c : runs) {
            java.util.Map<String, Object> m = new LinkedHashMap<>();
            var props = c.getProperties();
            for (var keys = props.keys(); keys.hasMoreElements(); ) {
                String k = keys.nextElement();
                if (!k.startsWith("service.") && !k.startsWith("felix.")) m.put(k, props.get(k));
            }
            if (name == null || name.equals(String.valueOf(m.get("name")))) matches.add(m);
        }
        if (matches.size() != 1) {
            throw new IllegalArgumentException((name == null ? "kd:train needs a run file" : "no run file " + name) + ": found "
                    + matches.size() + " matching run configurations (factory PID " + RUN_PID + ", e.g. conf/" + RUN_PID + "-demo.cfg)");
        }
        return RunSettings.of(matches.get(0));
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
    static String status(Trainer t) {
        RunStatus s = t.status();
        StringBuilder out = new StringBuilder();
        String eta = s.state().equals("RUNNING") ? ", ETA " + (s.eta() == null ? "?" : duration(s.eta())) : "";
        out.append(String.format("run %s: %s, step %d/%d, epoch %d, elapsed %s, %.2f images/s%s, device %s%n", t.id(), s.state(), s.step(),
                t.totalSteps(), s.epoch(), duration(t.elapsed()), s.imagesPerSecond(), eta, s.device()));
        out.append("  modules ").append(s.activeModules().isEmpty() ? "none" : String.join(", ", s.activeModules()));
        if (!t.disabledModules().isEmpty()) out.append(" (disabled: ").append(String.join(", ", t.disabledModules())).append(')');
        out.append('\n');
        if (!s.losses().isEmpty()) {
            Map<String, Double> weights = t.lossWeights();
            out.append(String.format("  %-16s %12s %8s %12s%n", "loss term", "unweighted", "weight", "weighted"));
            s.losses().forEach((k, v) -> {
                if (k.equals("total")) return;
                Double w = weights.get(k);
                out.append(w == null ? String.format("  %-16s %12.6f%n", k, v) : String.format("  %-16s %12.6f %8.4g %12.6f%n", k, v, w, w * v));
            });
            if (s.losses().containsKey("total")) out.append(String.format("  %-16s %12s %8s %12.6f%n", "total", "", "", s.losses().get("total")));
        }
        long[] skipped = t.skippedSamples();
        if (skipped[0] + skipped[1] > 0) out.append(String.format("  skipped samples (data.on_error = skip): %d train, %d validation%n", skipped[0], skipped[1]));
        if (t.bestMiou() >= 0) out.append(String.format("  best mIoU %.2f%%, last %.2f%%%n", 100 * t.bestMiou(), 100 * t.lastMiou()));
        if (t.failure() != null) out.append("  failure: ").append(t.failure().getMessage()).append('\n');
        return out.toString();
    }

    /** 1h02m03s, 2m05s, 7s. */
    static String duration(java.time.Duration d) {
        long sec = Math.max(0, d.getSeconds());
        if (sec >= 3600) return String.format("%dh%02dm%02ds", sec / 3600, sec % 3600 / 60, sec % 60);
        if (sec >= 60) return String.format("%dm%02ds", sec / 60, sec % 60);
        return sec + "s";
    }

    @Descriptor("stop the current run at the next step boundary (the last checkpoint is kept)")
    public String stop() {
        Trainer t = live();
        t.stop();
        return "stopping " + t.id() + " at the next step boundary";
    }

    @Descriptor("pause the current run at the next step boundary")
    public String pause() {
        Trainer t = live();
        t.pause();
        return "pausing " + t.id();
    }

    @Descriptor("resume a paused run")
    public String resume() {
        Trainer t = live();
        t.resume();
        return "resuming " + t.id();
    }

    @Descriptor("bring a module back into the current run from the next step")
    public String enable(@Descriptor("module name") String module) {
        Trainer t = live();
        requireModuleOf(t, module);
        if (!t.disabledModules().contains(module)) return module + " is not disabled in " + t.id() + "; nothing to do";
        t.enable(module);
        return module + " enabled from the next step of " + t.id();
    }

    @Descriptor("leave a module out of the current run from the next step, without touching its bundle")
    public String disable(@Descriptor("module name") String module) {
        Trainer t = live();
        requireModuleOf(t, module);
        if (t.disabledModules().contains(module)) return module + " is already disabled in " + t.id();
        t.disable(module);
        return module + " disabled from the next step of " + t.id();
    }

    /** A module kd:enable/kd:disable can act on: a registered distiller, and in a run with a module list, one of its list. */
    private void requireModuleOf(Trainer t, String module) {
        java.util.Set<String> known = new java.util.TreeSet<>();
        runner.distillers().forEach(r -> known.add(r.name()));
        java.util.List<String> list = t.config().modules().stream().map(m -> m.distiller()).toList();
        if (!known.contains(module) && !list.contains(module)) {
            throw new IllegalArgumentException("unknown module " + module + " (known: " + (known.isEmpty() ? "none" : String.join(", ", known)) + ")");
        }
        if (t.config().teacher() == null) throw new IllegalArgumentException(t.id() + " has no teacher: it uses no modules");
        if (!t.settings().followRegistry() && !list.contains(module)) {
            throw new IllegalArgumentException(module + " is not in this run's module list (" + (list.isEmpty() ? "none" : String.join(", ", list)) + ")");
        }
    }

    /** The run in progress; pause, stop and module changes mean nothing once it has ended. */
    private Trainer live() {
        Trainer t = runner.current();
        if (t == null) throw new IllegalStateException("no run in progress: start one with kd:train <run file>");
        if (t.finished()) throw new IllegalStateException("no run in progress (the last one, " + t.id() + ", is " + t.status().state().toLowerCase() + ")");
        return t;
    }

    @Descriptor("export the student of a checkpoint (default: the last run's best) as safetensors; --naming hf writes a transformers"
            + " model directory (model.safetensors + config.json with the dataset's class names) when the target is a directory or"
            + " does not end with .safetensors")
    public String export(@Descriptor("checkpoint to export from") @Parameter(names = "--from", absentValue = "") String from,
                         @Descriptor("reference or hf") @Parameter(names = "--naming", absentValue = "reference") String naming,
                         @Descriptor("output file or directory") String file) throws IOException {
        Path checkpoint = from.isEmpty() ? lastCheckpoint() : Path.of(from).toAbsolutePath();
        RunSettings run = runOf(checkpoint);
        try (NDManager m = engine.newBaseManager();
             SegmentationNetwork net = runner.backbone(run.run().student().variant()).build(run.run().student().variant(), run.run().student().config(), m, 0)) {
            net.load(checkpoint, LoadMode.STRICT);
            Path out = Path.of(file).toAbsolutePath();
            boolean directory = naming.equals("hf") && (Files.isDirectory(out) || !out.getFileName().toString().endsWith(".safetensors"));
            DatasetInfo labels = directory ? labels(run, net.spec().classes()) : null;
            net.save(out, naming, labels);
            return "student " + run.run().student().variant() + " of " + checkpoint + " -> " + out + (directory ? "/ (model.safetensors, config.json)" : "")
                    + " (" + naming + " naming)" + (!directory ? "" : labels == null ? "; class names unknown: id2label says class_0 …"
                    : "; id2label: the " + labels.classes().size() + " classes of " + labels.name() + " (" + run.run().data().protocol() + " protocol)"
                    + (labels.ignoreClass() < net.spec().classes() ? ", " + labels.ignoreClass() + " = ignore (semantic_loss_ignore_index " + labels.ignoreClass() + ")" : ""));
        }
    }

    @Descriptor("evaluate the student of a checkpoint on a dataset split (default: the run's dataset, val split)")
    public String eval(@Descriptor("dataset name") @Parameter(names = "--dataset", absentValue = "") String dataset,
                       @Descriptor("dataset root") @Parameter(names = "--root", absentValue = "") String root,
                       @Descriptor("split") @Parameter(names = "--split", absentValue = "") String split,
                       @Descriptor("batches to evaluate, 0 = all") @Parameter(names = "--limit", absentValue = "0") int limit,
                       @Descriptor("checkpoint written by a run") String weights) throws IOException {
        GradMode.offForThisThread();
        Path checkpoint = Path.of(weights).toAbsolutePath();
        RunSettings run = runOf(checkpoint);
        var data = run.run().data();
        String name = dataset.isEmpty() ? data.dataset() : dataset;
        Path dataRoot = !root.isEmpty() ? Path.of(root).toAbsolutePath() : dataset.isEmpty() ? data.root() : null;
        Map<String, Object> options = new LinkedHashMap<>(dataset.isEmpty() ? data.options() : Map.of());
        options.put("augment", false);
        String s = split.isEmpty() ? data.valSplit() : split;
        try (SampleSource source = runner.dataset(name).open(new DatasetRequest(dataRoot, s, data.protocol(), options));
             BatchLoader loader = new BatchLoader(source, run.run().optimisation().batchSize(), false, run.threads(), run.prefetch());
             NDManager m = engine.newBaseManager();
             SegmentationNetwork net = runner.backbone(run.run().student().variant()).build(run.run().student().variant(), run.run().student().config(), m, 0)) {
            var report = net.load(checkpoint, LoadMode.STRICT);
            List<String> nonFinite = report.warnings().stream().filter(w -> w.contains("NaN")).toList();
            if (!nonFinite.isEmpty()) {
                throw new IllegalArgumentException(checkpoint + " is refused: its student holds NaN or infinite values in "
                        + String.join("; ", nonFinite.subList(0, Math.min(12, nonFinite.size()))) + (nonFinite.size() > 12 ? "; …" : ""));
            }
            ConfusionMatrix.Mode mode = data.protocol().equals("transkd") ? ConfusionMatrix.Mode.TRANSKD : ConfusionMatrix.Mode.STANDARD;
            Evaluation.Result r = Evaluation.run(net, loader, source.info(), m, limit);
            return String.format("%s on %s %s (%d pixels)%n", checkpoint.getFileName(), name, s, r.all().pixels()) + r.table(source.info(), mode);
        }
    }

    /**
     * The label space of a run's dataset under its protocol: from the opened validation split when the data is here,
     * else the dataset's own (TransKD protocol) description when it fits the network; null when neither is known.
     */
    private DatasetInfo labels(RunSettings run, int outputs) {
        var data = run.run().data();
        SegmentationDataset dataset;
        try {
            dataset = runner.dataset(data.dataset());
        } catch (IllegalArgumentException e) {
            return null;
        }
        Map<String, Object> options = new LinkedHashMap<>(data.options());
        options.put("augment", false);
        try (SampleSource source = dataset.open(new DatasetRequest(data.root(), data.valSplit(), data.protocol(), options))) {
            if (source.info().outputs() == outputs) return source.info();
        } catch (IOException | RuntimeException e) {
            // the data is not on this machine: fall back to the dataset's description
        }
        DatasetInfo info = dataset.info();
        return info.outputs() == outputs && data.protocol().equals("transkd") ? info : null;
    }

    private Trainer current() {
        Trainer t = runner.current();
        if (t == null) throw new IllegalStateException("no run yet: start one with kd:train <run file>");
        return t;
    }

    private Path lastCheckpoint() {
        Path dir = current().settings().output();
        Path best = dir.resolve("best.safetensors");
        if (Files.exists(best)) return best;
        Path last = dir.resolve("last.safetensors");
        if (Files.exists(last)) return last;
        throw new IllegalStateException("run " + current().id() + " has written no checkpoint yet");
    }

    /** The run file a checkpoint carries in its metadata. */
    static RunSettings runOf(Path checkpoint) throws IOException {
        try (SafeTensorsFile f = SafeTensorsFile.open(checkpoint)) {
            String text = f.metadata().get("retort.run");
            if (text == null) throw new IllegalArgumentException(checkpoint + " is not a Retort run checkpoint (no retort.run metadata)");
            java.util.Properties p = new java.util.Properties();
            p.load(new java.io.StringReader(text));
            Map<String, Object> m = new LinkedHashMap<>();
            p.forEach((k, v) -> m.put(k.toString(), v.toString()));
            return RunSettings.of(m);
        }
    }

    static Map<String, Object> pairs(String set) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (String pair : set.split(",(?=[^,=]+=)")) {
            int eq = pair.indexOf('=');
            if (eq <= 0) throw new IllegalArgumentException("--set expects key=value pairs separated by commas, got '" + pair + "'");
            m.put(pair.substring(0, eq).strip(), pair.substring(eq + 1).strip());
        }
        return m;
    }
}
