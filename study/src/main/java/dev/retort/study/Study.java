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
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Ablation studies: arms are run configurations that differ from a base by a few keys; every arm runs with the
 * same seed, data order and step budget. Each arm writes one row ({@code rows/arm-NNN.json}), so arms can run as
 * separate processes (cluster array jobs) and be merged afterwards into {@code results.md}, {@code results.csv},
 * {@code loss.png} and {@code miou.png}; a merge fails while an arm of the file has no row.
 *
 * <p>Ablation file: the base run's keys, plus {@code arm.N.name} and {@code arm.N.<key> = value} overrides, e.g.
 * {@code arm.1.modules = none}, {@code arm.2.modules = csf,pea}, {@code arm.3.module.pea.weights = 0,0,0,1}.
 */
public final class Study {
    /**
     * One arm of a study.
     *
     * @param configuration the keys this arm sets on top of the base ({@code arm.N.<key>}) but its name and modules (they have
     *                      columns of their own), e.g. {@code lr=1e-4; module.pea.weights=0,0,0,1}
     */
    public record Arm(int index, String name, RunPlan plan, String configuration) {
        public Arm(int index, String name, RunPlan plan) {
            this(index, name, plan, "");
        }
    }

    /**
     * The outcome of one arm.
     *
     * @param msPerStep   mean wall time of a training step (data, forwards, backward, optimizer), evaluation and start-up excluded
     * @param wallSeconds wall time of the whole arm: start-up, training, evaluations and checkpoints
     * @param iou         best evaluation's IoU per class, in the dataset's class order
     * @param losses      total loss per step; {@code ceLosses} the cross-entropy part
     */
    public record Row(int arm, String name, String modules, String configuration, double miou, long params, double gflops, long extraParams,
                      double msPerStep, double wallSeconds, long steps, Map<String, Double> iou, List<Double> losses, List<Double> ceLosses) {}

    /** The study folder's preparation cache, shared by its arms unless the ablation file sets {@code preparation_cache}. */
    public static final String PREPARATIONS = "preparations";

    private Study() {}

    public static List<Arm> arms(Path file, Path output, Runner runner) throws IOException {
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
        // every key is checked where the user wrote it: a base key by its name, an arm's key as arm.N.<key>
        runner.requireKnownKeys(file.getFileName().toString(), "", base.keySet());
        overrides.forEach((n, keys) -> runner.requireKnownKeys(file.getFileName() + " arm " + n, "arm." + n + ".", keys.keySet()));
        List<Arm> arms = new ArrayList<>();
        for (Map.Entry<Integer, Map<String, Object>> e : overrides.entrySet()) {
            Map<String, Object> m = new TreeMap<>(base);
            m.putAll(e.getValue());
            String name = String.valueOf(m.getOrDefault("name", "arm-" + e.getKey()));
            m.put("name", name.replaceAll("[^A-Za-z0-9._-]", "_"));
            m.put("output", output.resolve("arm-" + e.getKey()).toString());
            // Arms that share teacher, data and module configuration share a module's preparation (MasKD's tokens):
            // its cache key tells them apart, so one folder per study is safe (writes are atomic renames).
            m.putIfAbsent("preparation_cache", output.resolve(PREPARATIONS).toString());
            // the arms of a study share one teacher cache (array jobs too: they are given the same --out)
            if (String.valueOf(m.getOrDefault("teacher.cache", "off")).strip().equalsIgnoreCase("disk") && !m.containsKey("teacher.cache_dir")) m.put("teacher.cache_dir", output.resolve("teacher-cache").toString());
            String configuration = e.getValue().entrySet().stream().filter(x -> !x.getKey().equals("name") && !x.getKey().equals("modules"))  // modules have their own column
                    .map(x -> x.getKey() + "=" + x.getValue()).collect(Collectors.joining("; "));
            try {
                arms.add(new Arm(e.getKey(), name, runner.plan(m), configuration));
            } catch (IllegalArgumentException bad) {
                throw new RetortConfigException(file.getFileName() + " arm " + e.getKey() + " (" + name + "): " + bad.getMessage(), bad);
            }
        }
        return arms;
    }

    /** Runs one arm to its end through the runner (visible to kd:status) and writes its row. */
    public static Row run(Arm arm, Runner runner, BundleContext context, Path output, PrintStream log) throws IOException, InterruptedException {
        return run(arm, runner, context, false, output, log);
    }

    /**
     * Runs one arm to its end and writes its row.
     *
     * @param overwrite the arm's run replaces an earlier run in its folder (the demo runs again in place)
     */
    public static Row run(Arm arm, Runner runner, BundleContext context, boolean overwrite, Path output, PrintStream log)
            throws IOException, InterruptedException {
        return run(arm, runner, context, overwrite, output, log, null);
    }

    /** As {@link #run(Arm, Runner, BundleContext, boolean, Path, PrintStream)}, with {@code listener} receiving the run's events. */
    static Row run(Arm arm, Runner runner, BundleContext context, boolean overwrite, Path output, PrintStream log, RunListener listener)
            throws IOException, InterruptedException {
        long start = System.nanoTime();
        TrainingRun t = runner.start(new RunRequest(arm.plan().description(), null, overwrite, log, listener, 0));
        RunResult r;
        try {
            r = t.completion().toCompletableFuture().get();  // completed by the runner: nothing is polled
        } catch (ExecutionException e) {
            throw new IllegalStateException("arm " + arm.index() + " (" + arm.name() + "): " + e.getCause().getMessage(), e.getCause());
        }
        if (r.state() == RunState.FAILED) throw new IllegalStateException("arm " + arm.index() + " (" + arm.name() + ") failed: " + r.failure());
        double wall = (System.nanoTime() - start) / 1e9;
        ModelRef student = arm.plan().config().student();
        Map<String, ?> data = arm.plan().config().data().options();
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
        Row row = new Row(arm.index(), arm.name(), arm.plan().followsRegistry() ? "(registry)" : arm.plan().config().modules().stream()
                .map(m -> m.distiller()).collect(Collectors.collectingAndThen(Collectors.joining("+"), s -> s.isEmpty() ? "none" : s)), arm.configuration(),
                Math.max(0, r.bestMiou()), params[0], gflops[0], r.moduleParams(), r.meanStepMillis(), wall, r.steps(), iou,
                r.totalLosses(), r.ceLosses());
        writeRow(output, row);
        return row;
    }

    /**
     * Merges the rows of a study folder into the table and the plots; every arm of {@code arms} must have its row.
     *
     * @throws IllegalStateException naming the arms without a row (not run yet, still running or failed)
     */
    public static List<Row> merge(Path output, List<Arm> arms) throws IOException {
        Path rows = output.resolve("rows");
        if (!Files.isDirectory(rows)) throw new IOException(output + " has no rows/ folder (run kd:ablate first)");
        Map<Integer, Row> byArm = new TreeMap<>();
        try (Stream<Path> files = Files.list(rows)) {
            // rows/arm-NNN.json; arm-NNN.csv is the name earlier versions gave the same JSON
            // every row is read and checked before anything is written: one bad row leaves the earlier results as they were
            List<String> bad = new ArrayList<>();
            for (Path f : files.filter(p -> p.getFileName().toString().matches("arm-\\d+\\.(json|csv)")).sorted().toList()) {
                try {
                    Row r = readRow(f);
                    String n = f.getFileName().toString();
                    if (Long.parseLong(n.substring(4, n.indexOf('.'))) != r.arm()) throw new IOException(f + ": holds arm " + r.arm() + ", not the arm its name says");
                    byArm.putIfAbsent(r.arm(), r);
                } catch (IOException | NumberFormatException e) {
                    bad.add(e.getMessage());
                }
            }
            if (!bad.isEmpty()) {
                throw new RetortConfigException("merge refused, nothing was written: " + bad.size() + " bad row file" + (bad.size() == 1 ? "" : "s")
                        + " (fix or delete " + (bad.size() == 1 ? "it" : "them") + ", or run the arm again):\n  " + String.join("\n  ", bad));
            }
        }
        List<Integer> missing = arms.stream().map(Arm::index).filter(i -> !byArm.containsKey(i)).toList();
        if (!missing.isEmpty()) {
            throw new IllegalStateException("arm" + (missing.size() == 1 ? " " : "s ") + missing.stream().map(String::valueOf).collect(Collectors.joining(", "))
                    + " of " + arms.size() + " ha" + (missing.size() == 1 ? "s" : "ve") + " no row in " + rows + " (not run yet, still running, or failed);"
                    + " run " + (missing.size() == 1 ? "it" : "each") + " with kd:ablate --arm N --out " + output + " <file>, then merge again");
        }
        List<Row> all = new ArrayList<>();
        for (Arm a : arms) all.add(byArm.get(a.index()));
        writeResults(output, all);
        return all;
    }

    static void writeResults(Path output, List<Row> rows) throws IOException {
        plots(output, rows);  // first: the table, what a reader trusts, is written only when everything else worked
        writeTables(output, rows);
    }

    /** {@code results.md} and {@code results.csv}. */
    static void writeTables(Path output, List<Row> rows) throws IOException {
        // every row lists its classes in the dataset's order; a class only some rows know goes after the others
        List<String> classes = new ArrayList<>();
        for (Row r : rows) r.iou().keySet().forEach(c -> {
            if (!classes.contains(c)) classes.add(c);
        });
        boolean configured = rows.stream().anyMatch(r -> !r.configuration().isEmpty());
        StringBuilder md = new StringBuilder("| arm | name | modules |" + (configured ? " configuration |" : "")
                + " mIoU % | params (M) | GFLOPs | training-only params (M) | ms/step (training) | wall s | steps |\n");
        md.append("|---|---|---|").append(configured ? "---|" : "").append("---|---|---|---|---|---|---|\n");
        StringBuilder csv = new StringBuilder("arm,name,modules,configuration,miou,params,gflops,extra_params,ms_per_step,wall_s,steps");
        classes.forEach(c -> csv.append(",iou:").append(c.replace(',', ' ')));
        csv.append('\n');
        for (Row r : rows) {
            md.append(String.format("| %d | %s | %s |%s %.2f | %.3f | %.3f | %.3f | %.1f | %.1f | %d |%n", r.arm(), cell(r.name()), cell(r.modules()),
                    configured ? " " + (r.configuration().isEmpty() ? "–" : cell(r.configuration())) + " |" : "", 100 * r.miou(),
                    r.params() / 1e6, r.gflops(), r.extraParams() / 1e6, r.msPerStep(), r.wallSeconds(), r.steps()));
            csv.append(String.format("%d,%s,%s,%s,%.6f,%d,%.6f,%d,%.3f,%.3f,%d", r.arm(), csvField(r.name()), csvField(r.modules()), csvField(r.configuration()),
                    r.miou(), r.params(), r.gflops(), r.extraParams(), r.msPerStep(), r.wallSeconds(), r.steps()));
            classes.forEach(c -> csv.append(r.iou().containsKey(c) ? String.format(",%.6f", r.iou().get(c)) : ","));
            csv.append('\n');
        }
        md.append("\nms/step (training): mean time of a training step (data, forwards, backward, optimizer); wall s: the whole arm,"
                + " start-up and evaluations included.\n");
        if (!classes.isEmpty()) {
            md.append("\nPer-class IoU % (best evaluation)\n\n| class |");
            rows.forEach(r -> md.append(' ').append(cell(r.name())).append(" |"));
            md.append("\n|---|").append("---|".repeat(rows.size())).append('\n');
            for (String c : classes) {
                md.append("| ").append(cell(c)).append(" |");
                rows.forEach(r -> md.append(r.iou().containsKey(c) ? String.format(" %.2f |", 100 * r.iou().get(c)) : " – |"));
                md.append('\n');
            }
        }
        Files.createDirectories(output);
        Files.writeString(output.resolve("results.md"), md.toString());
        Files.writeString(output.resolve("results.csv"), csv.toString());
    }

    /**
     * The study's charts: {@code loss.png}, each arm's task loss (cross-entropy) on one axis; {@code distill.png}, each
     * distilling arm's weighted distillation loss (total − cross-entropy); {@code miou.png}, one bar per arm.
     */
    static void plots(Path output, List<Row> rows) throws IOException {
        Map<String, List<Double>> ce = new LinkedHashMap<>(), distill = new LinkedHashMap<>();
        for (Row r : rows) {
            ce.put(r.name(), r.ceLosses());
            if (r.modules().equals("none")) continue;
            List<Double> d = new ArrayList<>();
            for (int i = 0; i < Math.min(r.losses().size(), r.ceLosses().size()); i++) d.add(r.losses().get(i) - r.ceLosses().get(i));
            distill.put(r.name(), d);
        }
        Plots.curves(output.resolve("loss.png"), "task loss (cross-entropy) per arm", "cross-entropy", ce, 20);
        Plots.curves(output.resolve("distill.png"), "distillation loss per arm (weighted sum of the module terms)", "total − cross-entropy", distill, 20);
        Plots.bars(output.resolve("miou.png"), "best validation mIoU per arm", "mIoU %", rows.stream().map(Row::name).toList(),
                rows.stream().map(r -> 100 * r.miou()).toList(), null);
    }

    /** A markdown table cell: a '|' in it would end the cell, and a line break the row. */
    static String cell(String v) {
        return v.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("\r", " ");
    }

    /** A CSV field, quoted when it holds a comma or a quote (RFC 4180). */
    static String csvField(String v) {
        return v.contains(",") || v.contains("\"") ? "\"" + v.replace("\"", "\"\"") + "\"" : v;
    }

    /** The row file of an arm: JSON, {@code rows/arm-NNN.json}. */
    static Path rowFile(Path output, int arm) {
        return output.resolve("rows").resolve(String.format("arm-%03d.json", arm));
    }

    static void writeRow(Path output, Row r) throws IOException {
        Files.createDirectories(output.resolve("rows"));
        JsonObject o = new JsonObject();
        o.addProperty("arm", r.arm());
        o.addProperty("name", r.name());
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
        Path file = rowFile(output, r.arm()), tmp = file.resolveSibling("." + file.getFileName() + ".tmp");
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
