package dev.retort.runner.train;

import dev.retort.api.error.RetortConfigException;
import dev.retort.api.run.DataRef;
import dev.retort.api.run.ModelRef;
import dev.retort.api.run.ModuleRef;
import dev.retort.api.run.Optimisation;
import dev.retort.api.run.RunConfig;
import dev.retort.api.run.RunPlan;
import dev.retort.nn.KeyFile;
import dev.retort.nn.Keys;
import dev.retort.nn.Names;
import dev.retort.runner.data.DataPlan;
import dev.retort.runner.teachercache.CacheSettings;
import dev.retort.nn.Settings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * A run described by flat keys — a {@code .cfg} file in {@code conf/}, a run file passed to {@code kd:train}, or a
 * ConfigAdmin configuration — turned into the api's {@link RunConfig} plus the runner's own settings.
 *
 * <pre>
 * name = demo                          output = runs/demo (default runs/&lt;name&gt;)
 * seed = 1                             device = auto | cpu | gpu | gpu:N
 * precision = fp32 (| bf16-mixed)      teacher.precision = fp32 (| bf16 | fp16), see {@link Precision}
 * teacher = mit-b2                     teacher.weights = teacher.safetensors   teacher.&lt;arch key&gt; = …
 * student = mit-b0                     student.weights = (optional)            student.&lt;arch key&gt; = …
 * dataset = synthetic                  data.root, data.protocol (transkd), data.train_split (train), data.val_split (val), data.&lt;option&gt;
 * modules = csf,pea                    absent: every registered, enabled distiller (and swaps follow the registry); none: student only
 * module.&lt;name&gt;.&lt;key&gt; = value         per-module configuration
 * init = FILE                          start from a checkpoint's weights (TransKD or Retort names), not its optimiser state; see {@link InitCheckpoint}
 * lr (6e-5), weight_decay (0.01), batch_size (2), epochs (1000) or iterations, decay_steps (1500), decay_per (epoch|iteration|none = constant lr),
 * eval_every (1), eval_batches (0 = all), threads (cores), prefetch (4), log_every (10), checkpoint_every (0 = at evaluations),
 * on_module_error (disable | skip-step), on_nonfinite (skip | stop),
 * preparation_cache (where finished module preparations are kept for reuse; default &lt;output&gt;/preparations)
 * teacher.cache (off | memory | disk), teacher.cache_dir (default &lt;output&gt;/teacher-cache), teacher.cache_limit (e.g. 4g)
 * </pre>
 *
 * <p>Every key is checked: a key that is not one of {@link #KEYS} nor under {@code teacher.}, {@code student.},
 * {@code data.} or {@code module.<name>.} is an error with the closest known key; every number must be finite,
 * an integer where it counts something and within its range. Backbones check their {@code teacher.}/{@code
 * student.} keys, distillers their {@code module.<name>.} keys ({@link dev.retort.api.distill.Distiller#validate})
 * before a run starts.
 *
 * <p>Every key is read once, here, into a typed component: the run reads {@link #precision()}, {@link #teacherCache()},
 * {@link #preparationCache()} and {@link #dataPlan()} (which splits it opens and how) rather than parse {@link #source()} again.
 */
public record RunSettings(RunConfig run, boolean followRegistry, Path output, int threads, int prefetch, int logEvery,
                          int evalBatches, long checkpointEvery, FaultPolicy.ModuleError onModuleError, FaultPolicy.NonFinite onNonFinite,
                          Precision precision, CacheSettings teacherCache, Path preparationCache, DataPlan dataPlan, Map<String, String> source) {
    /** The key naming the folder of finished module preparations. */
    static final String PREPARATION_CACHE = "preparation_cache";

    /** The keys of a run file, apart from the {@code teacher.}, {@code student.}, {@code data.} and {@code module.} sections. */
    public static final Set<String> KEYS = Set.of("name", "output", "seed", "device", "teacher", "student", "dataset", "modules",
            "lr", "weight_decay", "batch_size", "epochs", "iterations", "decay_steps", "decay_per", "eval_every", "eval_batches",
            "threads", "prefetch", "log_every", "checkpoint_every", "on_module_error", "on_nonfinite", PREPARATION_CACHE, Precision.STUDENT_KEY, InitCheckpoint.KEY);
    /** The largest learning rate accepted. */
    static final double MAX_LR = 1.0;
    /** Sections whose keys belong to a backbone, the dataset or a distiller. */
    static final List<String> SECTIONS = List.of("teacher.", "student.", "data.", "module.");

    public static RunSettings read(Path file) throws IOException {
        return of(readFile(file));
    }

    /** The keys of a run file, unchecked. */
    static Map<String, Object> readFile(Path file) throws IOException {
        if (!Files.isRegularFile(file)) throw new IOException(file + ": no such run file");
        Map<String, Object> m = new TreeMap<>();
        for (KeyFile.Entry e : KeyFile.read(file)) m.put(e.key(), e.value());  // a key given twice is refused, naming both lines
        return m;
    }

    public static RunSettings of(Map<String, ?> raw) {
        Settings s = new Settings("run", raw);
        requireKnown("run", "", raw.keySet());
        Precision precision = Precision.read(s, raw);
        String name = str(raw, "name", "run");
        try {
            Names.check("name", name);
        } catch (IllegalArgumentException e) {
            throw s.invalid(e.getMessage());
        }
        ModelRef teacher = raw.containsKey("teacher") && !str(raw, "teacher", "").isEmpty() && !str(raw, "teacher", "").equals("none")
                ? model(raw, "teacher") : null;
        ModelRef student = model(raw, "student");
        Map<String, Object> dataOptions = sub(raw, "data.", List.of("root", "protocol", "train_split", "val_split"));
        String root = str(raw, "data.root", "");
        DataRef data = new DataRef(str(raw, "dataset", "synthetic"), root.isEmpty() ? null : Path.of(root).toAbsolutePath(),
                str(raw, "data.train_split", "train"), str(raw, "data.val_split", "val"), str(raw, "data.protocol", "transkd"), dataOptions);
        boolean follow = !raw.containsKey("modules");
        List<ModuleRef> modules = new ArrayList<>();
        if (!follow) {
            for (String n : str(raw, "modules", "").split("[,\\s]+")) {
                if (n.isEmpty() || n.equals("none")) continue;
                modules.add(new ModuleRef(n, sub(raw, "module." + n + ".", List.of())));
            }
        }
        for (String k : raw.keySet()) {
            if (k.startsWith("module.") && k.indexOf('.', 7) < 0) throw s.invalid("'" + k + "' needs a module and a key: module.<name>.<key>");
        }
        String decayPer = str(raw, "decay_per", "epoch");
        if (!decayPer.equals("epoch") && !decayPer.equals("iteration") && !decayPer.equals("none")) {
            throw s.invalid("decay_per must be epoch, iteration or none (a constant learning rate), got '" + decayPer + "'");
        }
        if (decayPer.equals("none") && raw.containsKey("decay_steps")) throw s.invalid("decay_steps has no effect with decay_per = none (a constant learning rate): remove one");
        if (raw.containsKey("epochs") && raw.containsKey("iterations")) throw s.invalid("set epochs or iterations, not both");
        double lr = s.positive("lr", 6e-5);
        // AdamW moves each weight by about lr per step: beyond 1 the first step destroys the network (TransKD uses 6e-5)
        if (lr > MAX_LR) throw s.invalid("lr must be at most " + MAX_LR + " (AdamW moves every weight by about lr per step; TransKD uses 6e-5), got '" + raw.get("lr") + "'");
        Optimisation opt = new Optimisation(lr, s.real("weight_decay", 0.01, 0, Double.MAX_VALUE), s.integer("batch_size", 2, 1),
                raw.containsKey("iterations") ? 0 : s.integer("epochs", 1000, 1), raw.containsKey("iterations") ? s.integer("iterations", 0, 1) : 0,
                decayPer.equals("none") ? 0 : s.integer("decay_steps", 1500, 1), decayPer.equals("epoch"), s.integer("eval_every", 1, 1));
        String device = str(raw, "device", "auto");
        if (!device.matches("auto|cpu|gpu(:\\d+)?")) throw s.invalid("device must be auto, cpu, gpu or gpu:N, got '" + device + "'");
        RunConfig run = new RunConfig(name, teacher, student, data, modules, opt, s.whole("seed", 1), device);
        FaultPolicy.ModuleError onModuleError = FaultPolicy.ModuleError.of(str(raw, "on_module_error", "disable"));
        if (onModuleError == null) throw s.invalid("on_module_error must be " + String.join(" or ", FaultPolicy.ModuleError.keys()));
        FaultPolicy.NonFinite onNonFinite = FaultPolicy.NonFinite.of(str(raw, "on_nonfinite", "skip"));
        if (onNonFinite == null) throw s.invalid("on_nonfinite must be " + String.join(" or ", FaultPolicy.NonFinite.keys()));
        if (raw.containsKey(InitCheckpoint.KEY) && str(raw, InitCheckpoint.KEY, "").isEmpty()) throw s.invalid("init needs a file (a checkpoint's weights)");
        Path output = Path.of(str(raw, "output", "runs/" + name)).toAbsolutePath();
        CacheSettings teacherCache = CacheSettings.of(raw, output);
        String preparations = str(raw, PREPARATION_CACHE, "");
        Path preparationCache = preparations.isEmpty() ? output.resolve(RunFolder.PREPARATIONS) : Path.of(preparations).toAbsolutePath();
        Map<String, String> source = new TreeMap<>();
        raw.forEach((k, v) -> source.put(k, String.valueOf(v)));
        return new RunSettings(run, follow, output,
                s.integer("threads", Runtime.getRuntime().availableProcessors(), 1), s.integer("prefetch", 4, 1), s.integer("log_every", 10, 1),
                s.integer("eval_batches", 0, 0), s.whole("checkpoint_every", 0) < 0 ? negative(s, "checkpoint_every") : s.whole("checkpoint_every", 0),
                onModuleError, onNonFinite, precision, teacherCache, preparationCache, new DataPlan(data), source);
    }

    /** The run's {@code init} file (absolute), or null when the run starts from its initialisation and weights files. */
    public Path init() {
        String f = source.getOrDefault(InitCheckpoint.KEY, "").strip();
        return f.isEmpty() ? null : Path.of(f).toAbsolutePath();
    }

    /** The {@code module.<name>.} section of the run (also when the run follows the registry). */
    public Map<String, Object> moduleConfig(String name) {
        return sub(source, "module." + name + ".", List.of());
    }

    /** Every module named by a {@code module.<name>.} section or the {@code modules} list, with its section. */
    public Map<String, Map<String, Object>> moduleConfigs() {
        Map<String, Map<String, Object>> m = new TreeMap<>();
        run.modules().forEach(r -> m.put(r.distiller(), moduleConfig(r.distiller())));
        for (String k : source.keySet()) {
            if (k.startsWith("module.")) {
                String name = k.substring(7, k.indexOf('.', 7));
                m.put(name, moduleConfig(name));
            }
        }
        return m;
    }

    private static long negative(Settings s, String key) {
        throw s.error(key, "an integer >= 0 (0 = at evaluations)", s.raw(key));
    }

    /**
     * Throws unless every key is a run key or lies in a section (see {@link Keys}).
     *
     * @param prefix how the user wrote the keys, e.g. {@code arm.2.} or {@code --set }
     */
    public static void requireKnown(String owner, String prefix, Collection<String> keys) {
        List<String> plain = keys.stream().filter(k -> SECTIONS.stream().noneMatch(k::startsWith)).toList();
        Keys.requireKnown(owner, prefix, plain, KEYS);
    }

    /** The same settings with some keys replaced (ablation arms, overrides on the command line). */
    public RunSettings with(Map<String, ?> overrides) {
        Map<String, Object> m = new TreeMap<>(source);
        m.putAll(overrides);
        return of(m);
    }

    /** The settings as the api's checked run description. */
    public RunPlan plan() {
        return new RunPlan(run, output, followRegistry, source);
    }

    /** The settings as a run file. */
    public String toFileText() {
        return plan().fileText();
    }

    private static ModelRef model(Map<String, ?> raw, String role) {
        String variant = str(raw, role, "");
        if (variant.isEmpty()) throw new RetortConfigException("run: '" + role + "' (a backbone variant, e.g. mit-b0) is required");
        String weights = str(raw, role + ".weights", "");
        List<String> own = new ArrayList<>(List.of("weights"));
        if (role.equals("teacher")) {  // the runner's, not the backbone's
            own.addAll(CacheSettings.TEACHER_KEYS);
            own.add("precision");
        }
        return new ModelRef(variant, sub(raw, role + ".", own), weights.isEmpty() ? null : Path.of(weights).toAbsolutePath());
    }

    private static Map<String, Object> sub(Map<String, ?> raw, String prefix, List<String> excluded) {
        Map<String, Object> m = new LinkedHashMap<>();
        raw.forEach((k, v) -> {
            if (k.startsWith(prefix) && !excluded.contains(k.substring(prefix.length()))) m.put(k.substring(prefix.length()), v);
        });
        return m;
    }

    private static String str(Map<String, ?> raw, String key, String fallback) {
        Object v = raw.get(key);
        return v == null ? fallback : v.toString().strip();
    }

    @Override
    public String toString() {
        return run.name() + " " + Arrays.asList(run.student().variant(), run.teacher() == null ? "-" : run.teacher().variant());
    }
}
