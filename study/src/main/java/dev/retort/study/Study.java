package dev.retort.study;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.retort.nn.KeyFile;
import dev.retort.nn.Names;
import dev.retort.api.backbone.Backbone;
import dev.retort.api.error.RetortConfigException;
import dev.retort.api.run.ModelRef;
import dev.retort.api.run.RunPlan;
import dev.retort.api.run.RunRequest;
import dev.retort.api.run.RunListener;
import dev.retort.api.run.RunResult;
import dev.retort.api.run.RunState;
import dev.retort.api.run.Runner;
import dev.retort.api.run.TrainingRun;
import dev.retort.osgi.ServiceLookup;
import java.util.concurrent.ExecutionException;
import org.osgi.framework.BundleContext;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Ablation studies: arms are run configurations that differ from a base by a few keys; every arm runs with every seed
 * of the study ({@code seeds = 1,2,3}; default the run's {@code seed}), the same seed giving every arm the same
 * initialisation seed and data order. An (arm, seed) pair is a <b>cell</b>, numbered from 1 arm by arm (arms in
 * the file's order, seeds in the order written): with seeds 1,2,3, cell 1 is the first arm with seed 1, cell 3 the
 * first arm with seed 3, cell 4 the second arm with seed 1. Each cell runs in its own folder
 * ({@code arm-N-seed-S}) and writes one row ({@code rows/arm-NNN-seed-S.json}), so cells can run as separate
 * processes (cluster array tasks: the array index is the cell number) and be merged afterwards into
 * {@code results.md}, {@code results.csv}, {@code loss.png}, {@code distill.png} and {@code miou.png}
 * ({@link StudyResults}); a merge fails while a cell has no row.
 *
 * <p>Ablation file: the base run's keys, plus {@code arm.N.name} and {@code arm.N.<key> = value} overrides, e.g.
 * {@code arm.1.modules = none}, {@code arm.2.modules = csf,pea}, {@code arm.3.module.pea.weights = 0,0,0,1}; and the
 * study's own keys {@code seeds} and {@code baseline} (an arm's name: the other arms get their paired gain over it).
 */
public final class Study {
    /** The study's keys besides the run's. */
    static final String SEEDS = "seeds", BASELINE = "baseline";

    /**
     * One arm of a study.
     *
     * @param description   the base keys with the arm's overrides, its name made a folder-safe word; no seed, no output
     * @param configuration the keys this arm sets on top of the base ({@code arm.N.<key>}) but its name and modules (they have
     *                      columns of their own), e.g. {@code lr=1e-4; module.pea.weights=0,0,0,1}
     */
    public record Arm(int index, String name, Map<String, Object> description, String configuration) {
        public Arm {
            description = Map.copyOf(description);
        }
    }

    /**
     * One arm with one seed: the unit a process (an array task) runs.
     *
     * @param number the cell's number, from 1 (see the class comment)
     * @param plan   the arm's run with this seed, in its own folder
     */
    public record Cell(int number, Arm arm, long seed, RunPlan plan) {
        /** {@code cell 5 (arm 2 'CSF only', seed 2)}. */
        public String label() {
            return "cell " + number + " (arm " + arm.index() + " '" + arm.name() + "', seed " + seed + ")";
        }
    }

    /**
     * An ablation file read for an output folder.
     *
     * @param seeds    the study's seeds, in the order written
     * @param baseline the arm the others are compared with, or {@code null}
     * @param cells    every arm with every seed, in cell order
     */
    public record Ablation(Path file, Path output, List<Arm> arms, List<Long> seeds, String baseline, List<Cell> cells) {
        /** The cell of that number. */
        public Cell cell(int number) {
            if (number < 1 || number > cells.size()) {
                throw new RetortConfigException("no cell " + number + " in " + file.getFileName() + ": cells are 1.." + cells.size()
                        + " (" + arms.size() + " arm" + (arms.size() == 1 ? "" : "s") + " × " + seeds.size() + " seed" + (seeds.size() == 1 ? "" : "s")
                        + ", numbered arm by arm)");
            }
            return cells.get(number - 1);
        }

        /** The cells of arm {@code arm} (its index in the file), all its seeds or only {@code seed}. */
        public List<Cell> cells(int arm, Long seed) {
            if (arms.stream().noneMatch(a -> a.index() == arm)) {
                throw new RetortConfigException("no arm " + arm + " in " + file.getFileName() + " (arms: " + arms.stream().map(Arm::index).toList() + ")");
            }
            if (seed != null && !seeds.contains(seed)) throw new RetortConfigException("no seed " + seed + " in " + file.getFileName() + " (seeds: " + seeds + ")");
            return cells.stream().filter(c -> c.arm().index() == arm && (seed == null || c.seed() == seed)).toList();
        }
    }

    /**
     * The outcome of one cell.
     *
     * @param msPerStep   mean wall time of a training step (data, forwards, backward, optimizer), evaluation and start-up excluded
     * @param wallSeconds wall time of the cell's last process: start-up, training, evaluations and checkpoints
     * @param iou         best evaluation's IoU per class, in the dataset's class order
     * @param losses      total loss per step; {@code ceLosses} the cross-entropy part (NaN for a skipped step, and for steps
     *                    a resumed run's log does not hold)
     */
    public record Row(int arm, String name, long seed, String modules, String configuration, double miou, long params, double gflops, long extraParams,
                      double msPerStep, double wallSeconds, long steps, Map<String, Double> iou, List<Double> losses, List<Double> ceLosses) {}

    /** The study folder's preparation cache, shared by its arms unless the ablation file sets {@code preparation_cache}. */
    public static final String PREPARATIONS = "preparations";

    private Study() {}

    /** The arms of an ablation file (every seed of each is a cell: {@link #read}). */
    public static List<Arm> arms(Path file, Path output, Runner runner) throws IOException {
        return read(file, output, runner).arms();
    }

    /** Reads and checks an ablation file: every key where it is written, every cell's run. */
    public static Ablation read(Path file, Path output, Runner runner) throws IOException {
        String fileName = file.getFileName().toString();
        Map<String, Object> base = new TreeMap<>();
        Map<Integer, Map<String, Object>> overrides = new TreeMap<>();
        // a key given twice is an error naming both lines; arm.1.x and arm.01.x are the same key
        Map<String, KeyFile.Entry> seen = new TreeMap<>();
        for (KeyFile.Entry e : KeyFile.read(file)) {
            String key = e.key(), value = e.value(), same = key;
            if (key.matches("arm\\.\\d+\\..+")) {
                int dot = key.indexOf('.', 4);
                int arm;
                try {
                    arm = Integer.parseInt(key.substring(4, dot));
                } catch (NumberFormatException tooLong) {
                    throw new RetortConfigException(file + " line " + e.line() + ": " + key + ": the arm number is too large");
                }
                same = "arm." + arm + key.substring(dot);
                overrides.computeIfAbsent(arm, k -> new TreeMap<>()).put(key.substring(dot + 1), value);
            } else {
                base.put(key, value);
            }
            KeyFile.Entry before = seen.putIfAbsent(same, e);
            if (before != null) throw KeyFile.duplicate(file.toString(), same, before, e);
        }
        if (overrides.isEmpty()) throw new RetortConfigException(file + ": no arms (arm.1.name = …, arm.1.modules = …)");
        // names first: they are printed below (and in every message about an arm)
        for (Map.Entry<Integer, Map<String, Object>> e : overrides.entrySet()) {
            Names.check(file.getFileName() + " arm " + e.getKey() + ": name", String.valueOf(e.getValue().getOrDefault("name", base.getOrDefault("name", "arm-" + e.getKey()))));
        }
        String seedList = (String) base.remove(SEEDS), baseline = (String) base.remove(BASELINE);
        overrides.forEach((n, keys) -> {
            for (String own : List.of(SEEDS, BASELINE, "seed")) {
                if (keys.containsKey(own)) {
                    throw new RetortConfigException(fileName + " arm " + n + ": arm." + n + "." + own + " is the study's, not an arm's: every arm runs"
                            + " with every seed of 'seeds = …' (the same seeds pair the arms' figures); set seeds (and baseline) once, without arm." + n + ".");
                }
            }
        });
        if (seedList != null && base.containsKey("seed")) {
            throw new RetortConfigException(fileName + ": both seed = " + base.get("seed") + " and seeds = " + seedList + "; give seeds alone");
        }
        // every key is checked where the user wrote it: a base key by its name, an arm's key as arm.N.<key>
        runner.requireKnownKeys(fileName, "", base.keySet());
        overrides.forEach((n, keys) -> runner.requireKnownKeys(fileName + " arm " + n, "arm." + n + ".", keys.keySet()));
        List<Arm> arms = new ArrayList<>();
        for (Map.Entry<Integer, Map<String, Object>> e : overrides.entrySet()) {
            Map<String, Object> m = new TreeMap<>(base);
            m.putAll(e.getValue());
            String name = String.valueOf(m.getOrDefault("name", "arm-" + e.getKey()));
            m.put("name", name.replaceAll("[^A-Za-z0-9._-]", "_"));
            // Arms that share teacher, data and module configuration share a module's preparation (MasKD's tokens):
            // its cache key tells them apart, so one folder per study is safe (writes are atomic renames).
            m.putIfAbsent("preparation_cache", output.resolve(PREPARATIONS).toString());
            // the arms of a study share one teacher cache (array jobs too: they are given the same --out)
            if (String.valueOf(m.getOrDefault("teacher.cache", "off")).strip().equalsIgnoreCase("disk") && !m.containsKey("teacher.cache_dir")) m.put("teacher.cache_dir", output.resolve("teacher-cache").toString());
            String configuration = e.getValue().entrySet().stream().filter(x -> !x.getKey().equals("name") && !x.getKey().equals("modules"))  // modules have their own column
                    .map(x -> x.getKey() + "=" + x.getValue()).collect(Collectors.joining("; "));
            arms.add(new Arm(e.getKey(), name, m, configuration));
        }
        List<Long> seeds = seedList != null ? seeds(fileName, seedList) : List.of(plan(arms.get(0), null, output, runner, fileName).config().seed());
        if (baseline != null && arms.stream().noneMatch(a -> a.name().equals(baseline))) {
            throw new RetortConfigException(fileName + ": baseline = " + baseline + " names no arm (arm names: " + arms.stream().map(Arm::name).toList() + ")");
        }
        List<Cell> cells = new ArrayList<>();
        for (Arm a : arms) {
            for (long seed : seeds) cells.add(new Cell(cells.size() + 1, a, seed, plan(a, seed, output, runner, fileName)));
        }
        return new Ablation(file, output, List.copyOf(arms), seeds, baseline, List.copyOf(cells));
    }

    /** {@code seeds = 1,2,3}: distinct non-negative integers. */
    static List<Long> seeds(String fileName, String list) {
        List<Long> seeds = new ArrayList<>();
        for (String s : list.split(",")) {
            long seed;
            try {
                seed = Long.parseLong(s.strip());
            } catch (NumberFormatException e) {
                throw new RetortConfigException(fileName + ": seeds must be integers separated by commas, e.g. seeds = 1,2,3; got '" + list + "'");
            }
            if (seed < 0) throw new RetortConfigException(fileName + ": seeds must be >= 0, got " + seed);
            if (seeds.contains(seed)) throw new RetortConfigException(fileName + ": seed " + seed + " is listed twice in seeds = " + list);
            seeds.add(seed);
        }
        return List.copyOf(seeds);
    }

    /** The cell folder's name: {@code arm-N-seed-S}. */
    static String cellFolder(int arm, long seed) {
        return "arm-" + arm + "-seed-" + seed;
    }

    private static RunPlan plan(Arm a, Long seed, Path output, Runner runner, String fileName) {
        Map<String, Object> m = new TreeMap<>(a.description());
        if (seed != null) m.put("seed", String.valueOf(seed));
        m.put("output", output.resolve(seed == null ? "arm-" + a.index() : cellFolder(a.index(), seed)).toString());
        try {
            return runner.plan(m);
        } catch (IllegalArgumentException bad) {
            throw new RetortConfigException(fileName + " arm " + a.index() + " (" + a.name() + "): " + bad.getMessage(), bad);
        }
    }

    /**
     * The row a cell already has, or empty; a row that does not match the cell (another ablation file ran in this
     * folder) is refused.
     */
    public static Optional<Row> existingRow(Path output, Cell cell) throws IOException {
        Path f = rowFile(output, cell.arm().index(), cell.seed());
        if (!Files.exists(f)) return Optional.empty();
        Row r = readRow(f);
        String modules = modules(cell.plan());
        if (r.arm() != cell.arm().index() || r.seed() != cell.seed() || !r.name().equals(cell.arm().name()) || !r.modules().equals(modules)
                || !r.configuration().equals(cell.arm().configuration())) {
            throw new IllegalStateException(f + " is the row of another study (arm " + r.arm() + " '" + r.name() + "', seed " + r.seed() + ", modules "
                    + r.modules() + ", configuration '" + r.configuration() + "'), not of " + cell.label() + " (modules " + modules + ", configuration '"
                    + cell.arm().configuration() + "'): give this ablation file its own --out");
        }
        return Optional.of(r);
    }

    /**
     * Runs one cell to its end through the runner (visible to kd:status) and writes its row. A cell folder holding
     * {@code last.safetensors} (a process stopped by a signal: pre-emption, a time limit) is resumed from it; one
     * without a checkpoint (an attempt that never reached one) starts again.
     *
     * @param again the cell runs again from step 0 in place (the demo), whatever its folder holds
     * @param listener receives the run's events (may be {@code null})
     * @throws IllegalStateException when the run failed or was stopped (no row is written then)
     */
    public static Row run(Cell cell, Runner runner, BundleContext context, boolean again, Path output, PrintStream log, RunListener listener)
            throws IOException, InterruptedException {
        long start = System.nanoTime();
        Path folder = cell.plan().output(), last = folder.resolve("last.safetensors");
        Path resume = !again && Files.isRegularFile(last) ? last : null;
        boolean overwrite = again || (resume == null && Files.isDirectory(folder) && !isEmpty(folder));
        if (resume != null) log.println(cell.label() + ": resuming from " + last);
        else if (overwrite && !again) log.println(cell.label() + ": " + folder + " holds an attempt without a checkpoint; starting it again from step 0");
        TrainingRun t = runner.start(new RunRequest(cell.plan().description(), resume, overwrite, log, listener, 0));
        RunResult r;
        try {
            r = t.completion().toCompletableFuture().get();  // completed by the runner: nothing is polled
        } catch (ExecutionException e) {
            throw new IllegalStateException(cell.label() + ": " + e.getCause().getMessage(), e.getCause());
        }
        if (r.state() == RunState.FAILED) throw new IllegalStateException(cell.label() + " failed: " + r.failure());
        if (r.state() != RunState.FINISHED) {
            throw new IllegalStateException(cell.label() + " stopped at step " + r.steps() + (r.failure() == null ? "" : " (" + r.failure() + ")")
                    + "; no row written" + (r.lastCheckpoint() != null ? "; running the cell again resumes from " + r.lastCheckpoint() : ""));
        }
        double wall = (System.nanoTime() - start) / 1e9;
        ModelRef student = cell.plan().config().student();
        Map<String, ?> data = cell.plan().config().data().options();
        int h = Integer.parseInt(String.valueOf(data.containsKey("height") ? data.get("height") : 512)), w = Integer.parseInt(String.valueOf(data.containsKey("width") ? data.get("width") : 1024));
        long[] params = new long[1];
        double[] gflops = new double[1];
        ServiceLookup.withFirst(context, Backbone.class, ServiceLookup.equalsFilter(Backbone.VARIANTS_PROPERTY, student.variant()), b -> {
            params[0] = b.describe(student.variant(), student.config()).parameters();
            gflops[0] = b.cost(student.variant(), student.config(), h, w).macs() / 1e9;
            return b;
        }).orElseThrow(() -> new IllegalStateException("no backbone service builds '" + student.variant() + "' any more"));
        Map<String, Double> iou = new LinkedHashMap<>();  // the best evaluation's per-class IoU, in the dataset's class order
        r.bestEvaluation().forEach((k, v) -> {
            if (k.startsWith("iou.")) iou.put(k.substring(4), v);
        });
        List<Double> losses = r.totalLosses(), ce = r.ceLosses();
        if (resume != null) {  // this process trained the steps after the checkpoint: the earlier ones are in the run's metrics.jsonl
            long from = r.steps() - losses.size();
            losses = withLoggedSteps(folder, "total", from, losses);
            ce = withLoggedSteps(folder, "ce", from, ce);
        }
        Row row = new Row(cell.arm().index(), cell.arm().name(), cell.seed(), modules(cell.plan()), cell.arm().configuration(),
                Math.max(0, r.bestMiou()), params[0], gflops[0], r.moduleParams(), r.meanStepMillis(), wall, r.steps(), iou, losses, ce);
        writeRow(output, row);
        return row;
    }

    private static String modules(RunPlan plan) {
        return plan.followsRegistry() ? "(registry)" : plan.config().modules().stream().map(m -> m.distiller())
                .collect(Collectors.collectingAndThen(Collectors.joining("+"), s -> s.isEmpty() ? "none" : s));
    }

    private static boolean isEmpty(Path folder) throws IOException {
        try (Stream<Path> files = Files.list(folder)) {
            return files.noneMatch(f -> !f.getFileName().toString().equals(".retort.lock"));
        }
    }

    /**
     * The steps before {@code from} as the run folder's {@code metrics.jsonl} logged them ({@code STEP} events, every
     * {@code log_every} steps; a step it does not hold is NaN), followed by {@code after}.
     */
    static List<Double> withLoggedSteps(Path folder, String key, long from, List<Double> after) throws IOException {
        List<Double> all = new ArrayList<>();
        for (long i = 0; i < from; i++) all.add(Double.NaN);
        Path metrics = folder.resolve("metrics.jsonl");
        if (Files.exists(metrics)) {
            for (String line : Files.readAllLines(metrics)) {
                JsonObject o;
                try {
                    o = JsonParser.parseString(line).getAsJsonObject();
                } catch (RuntimeException e) {
                    continue;  // a line cut by a killed process
                }
                if (!"STEP".equals(o.has("type") ? o.get("type").getAsString() : "") || !o.has(key) || !o.has("step")) continue;
                long step = o.get("step").getAsLong();
                JsonElement v = o.get(key);
                if (step >= 0 && step < from) all.set((int) step, v.getAsJsonPrimitive().isNumber() ? v.getAsDouble() : Double.NaN);
            }
        }
        all.addAll(after);
        return all;
    }

    /**
     * Merges the rows of a study folder into the table and the plots ({@link StudyResults}); every cell must have its
     * row. Rows are checked against their cells before anything is written.
     *
     * @return the rows in cell order
     * @throws IllegalStateException naming the cells without a row (not run yet, still running or failed)
     */
    public static List<Row> merge(Ablation study) throws IOException {
        Path output = study.output(), rows = output.resolve("rows");
        if (!Files.isDirectory(rows)) throw new IOException(output + " has no rows/ folder (run kd:ablate first)");
        List<Row> all = new ArrayList<>();
        List<Cell> missing = new ArrayList<>();
        // every row is read and checked before anything is written: one bad row leaves the earlier results as they were
        List<String> bad = new ArrayList<>();
        for (Cell c : study.cells()) {
            Optional<Row> r;
            try {
                r = existingRow(output, c);
                if (r.isEmpty() && study.seeds().size() == 1) r = legacyRow(output, c);
            } catch (IOException | IllegalStateException e) {
                bad.add(e.getMessage());
                continue;
            }
            if (r.isPresent()) all.add(r.get());
            else missing.add(c);
        }
        if (!bad.isEmpty()) {
            throw new RetortConfigException("merge refused, nothing was written: " + bad.size() + " bad row file" + (bad.size() == 1 ? "" : "s")
                    + " (fix or delete " + (bad.size() == 1 ? "it" : "them") + ", or run the cell again):\n  " + String.join("\n  ", bad));
        }
        if (!missing.isEmpty()) {
            int n = study.cells().size();
            throw new IllegalStateException((missing.size() == 1 ? "cell " : "cells ") + missing.stream().map(c -> c.number() + " (arm " + c.arm().index()
                    + ", seed " + c.seed() + ")").collect(Collectors.joining(", ")) + " of " + n + (missing.size() == 1 ? " has" : " have") + " no row in " + rows
                    + " (not run yet, still running, or failed: kd:ablate --status " + output + " says which); run " + (missing.size() == 1 ? "it" : "each")
                    + " with kd:ablate --cell N --out " + output + " " + study.file() + ", then merge again");
        }
        StudyResults.write(output, all, study.baseline());
        return all;
    }

    /** {@code rows/arm-NNN.json} of versions before seeds, read as the study's one seed. */
    private static Optional<Row> legacyRow(Path output, Cell c) throws IOException {
        for (String ext : List.of("json", "csv")) {
            Path f = output.resolve("rows").resolve(String.format("arm-%03d.%s", c.arm().index(), ext));
            if (Files.exists(f)) {
                Row r = readRow(f);
                if (r.arm() != c.arm().index()) throw new IOException(f + ": holds arm " + r.arm() + ", not the arm its name says");
                return Optional.of(new Row(r.arm(), r.name(), c.seed(), r.modules(), r.configuration(), r.miou(), r.params(), r.gflops(), r.extraParams(),
                        r.msPerStep(), r.wallSeconds(), r.steps(), r.iou(), r.losses(), r.ceLosses()));
            }
        }
        return Optional.empty();
    }

    /** The row file of a cell: JSON, {@code rows/arm-NNN-seed-S.json}. */
    static Path rowFile(Path output, int arm, long seed) {
        return output.resolve("rows").resolve(String.format("arm-%03d-seed-%d.json", arm, seed));
    }

    /** Writes a row atomically (a temporary file renamed), so a merge never reads half a row. */
    static void writeRow(Path output, Row r) throws IOException {
        Files.createDirectories(output.resolve("rows"));
        JsonObject o = new JsonObject();
        o.addProperty("arm", r.arm());
        o.addProperty("name", r.name());
        o.addProperty("seed", r.seed());
        o.addProperty("modules", r.modules());
        o.addProperty("configuration", r.configuration());
        o.addProperty("miou", r.miou());
        o.addProperty("params", r.params());
        o.addProperty("gflops", r.gflops());
        o.addProperty("extra_params", r.extraParams());
        o.addProperty("ms_per_step", Double.isFinite(r.msPerStep()) ? r.msPerStep() : null);
        o.addProperty("wall_s", r.wallSeconds());
        o.addProperty("steps", r.steps());
        JsonObject iou = new JsonObject();
        r.iou().forEach(iou::addProperty);
        o.add("iou", iou);
        o.add("losses", numbers(r.losses()));
        o.add("ce_losses", numbers(r.ceLosses()));
        // atomically: a merge or the web view reading meanwhile sees the whole row or none
        Path file = rowFile(output, r.arm(), r.seed()), tmp = file.resolveSibling("." + file.getFileName() + ".tmp");
        Files.writeString(tmp, o.toString() + "\n");
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    private static JsonArray numbers(List<Double> values) {
        JsonArray a = new JsonArray();
        values.forEach(v -> a.add(Double.isFinite(v) ? v : null));
        return a;
    }

    private static List<Double> numbers(JsonObject o, String key) {
        List<Double> values = new ArrayList<>();
        if (o.has(key)) for (JsonElement e : o.getAsJsonArray(key)) values.add(e.isJsonNull() ? Double.NaN : e.getAsDouble());
        return values;
    }

    /** A row file, every value checked ({@link RowReader}). */
    static Row readRow(Path f) throws IOException {
        return RowReader.read(f);
    }
}
