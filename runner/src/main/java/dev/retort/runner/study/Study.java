package dev.retort.runner.study;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.retort.api.backbone.Backbone;
import dev.retort.api.run.ModelRef;
import dev.retort.runner.train.RunSettings;
import dev.retort.runner.train.RunnerService;
import dev.retort.runner.train.Trainer;
import java.io.IOException;
import java.io.PrintStream;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Ablation studies: arms are run configurations that differ from a base by a few keys; every arm runs with the
 * same seed, data order and step budget. Each arm writes one row ({@code rows/arm-N.csv}), so arms can run as
 * separate processes (cluster array jobs) and be merged afterwards into {@code results.md}, {@code results.csv},
 * {@code loss.png} and {@code miou.png}.
 *
 * <p>Ablation file: the base run's keys, plus {@code arm.N.name} and {@code arm.N.<key> = value} overrides, e.g.
 * {@code arm.1.modules = none}, {@code arm.2.modules = csf,pea}, {@code arm.3.module.pea.weights = 0,0,0,1}.
 */
public final class Study {
    /** One arm of a study. */
    public record Arm(int index, String name, RunSettings settings) {}

    /** The outcome of one arm. */
    public record Row(int arm, String name, String modules, double miou, long params, double gflops, long extraParams, double msPerStep,
                      long steps, Map<String, Double> iou, List<Double> losses) {}

    private Study() {}

    public static List<Arm> arms(Path file, Path output) throws IOException {
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(file)) {
            p.load(r);
        }
        Map<String, Object> base = new TreeMap<>();
        Map<Integer, Map<String, Object>> overrides = new TreeMap<>();
        for (String key : p.stringPropertyNames()) {
            String value = p.getProperty(key).strip();
            if (key.matches("arm\\.\\d+\\..+")) {
                int dot = key.indexOf('.', 4);
                overrides.computeIfAbsent(Integer.parseInt(key.substring(4, dot)), k -> new TreeMap<>()).put(key.substring(dot + 1), value);
            } else {
                base.put(key, value);
            }
        }
        if (overrides.isEmpty()) throw new IllegalArgumentException(file + ": no arms (arm.1.name = …, arm.1.modules = …)");
        // every key is checked where the user wrote it: a base key by its name, an arm's key as arm.N.<key>
        RunSettings.requireKnown(file.getFileName().toString(), "", base.keySet());
        overrides.forEach((n, keys) -> RunSettings.requireKnown(file.getFileName() + " arm " + n, "arm." + n + ".", keys.keySet()));
        List<Arm> arms = new ArrayList<>();
        for (Map.Entry<Integer, Map<String, Object>> e : overrides.entrySet()) {
            Map<String, Object> m = new TreeMap<>(base);
            m.putAll(e.getValue());
            String name = String.valueOf(m.getOrDefault("name", "arm-" + e.getKey()));
            m.put("name", name.replaceAll("[^A-Za-z0-9._-]", "_"));
            m.put("output", output.resolve("arm-" + e.getKey()).toString());
            try {
                arms.add(new Arm(e.getKey(), name, RunSettings.of(m)));
            } catch (IllegalArgumentException bad) {
                throw new IllegalArgumentException(file.getFileName() + " arm " + e.getKey() + " (" + name + "): " + bad.getMessage(), bad);
            }
        }
        return arms;
    }

    /** Starts a run (the runner registers it as a service; tests run it directly). */
    @FunctionalInterface
    public interface Starter {
        Trainer start(RunSettings settings, PrintStream log) throws IOException;
    }

    /** Runs one arm to its end through the runner (visible to kd:status) and writes its row. */
    public static Row run(Arm arm, RunnerService runner, Path output, PrintStream log) throws IOException, InterruptedException {
        return run(arm, runner, (s, l) -> runner.start(s, null, l), output, log);
    }

    /** Runs one arm to its end and writes its row. */
    public static Row run(Arm arm, Trainer.Services services, Starter starter, Path output, PrintStream log) throws IOException, InterruptedException {
        long start = System.nanoTime();
        Trainer t = starter.start(arm.settings(), log);
        while (!t.finished()) Thread.sleep(100);
        if (t.status().state().equals("FAILED")) throw new IllegalStateException("arm " + arm.index() + " (" + arm.name() + ") failed: " + t.failure().getMessage(), t.failure());
        double ms = (System.nanoTime() - start) / 1e6 / Math.max(1, t.status().step());
        ModelRef student = arm.settings().run().student();
        Backbone b = services.backbone(student.variant());
        Map<String, ?> data = arm.settings().run().data().options();
        int h = Integer.parseInt(String.valueOf(data.containsKey("height") ? data.get("height") : 512)), w = Integer.parseInt(String.valueOf(data.containsKey("width") ? data.get("width") : 1024));
        Evaluations e = Evaluations.read(arm.settings().output().resolve("metrics.jsonl"));
        Row row = new Row(arm.index(), arm.name(), arm.settings().followRegistry() ? "(registry)" : arm.settings().run().modules().stream()
                .map(m -> m.distiller()).collect(Collectors.collectingAndThen(Collectors.joining("+"), s -> s.isEmpty() ? "none" : s)), Math.max(0, t.bestMiou()), b.describe(student.variant(), student.config()).parameters(),
                b.cost(student.variant(), student.config(), h, w).macs() / 1e9, e.moduleParams(), ms, t.status().step(), e.bestIou(), t.lossHistory());
        writeRow(output, row);
        return row;
    }

    /** Merges every {@code rows/arm-*.csv} of a study folder into the table and the plots. */
    public static List<Row> merge(Path output) throws IOException {
        Path rows = output.resolve("rows");
        if (!Files.isDirectory(rows)) throw new IOException(output + " has no rows/ folder (run kd:ablate first)");
        List<Row> all = new ArrayList<>();
        try (Stream<Path> files = Files.list(rows)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".csv")).sorted().toList()) all.add(readRow(f));
        }
        all.sort((a, b) -> Integer.compare(a.arm(), b.arm()));
        writeResults(output, all);
        return all;
    }

    static void writeResults(Path output, List<Row> rows) throws IOException {
        List<String> classes = rows.isEmpty() ? List.of() : new ArrayList<>(rows.get(0).iou().keySet());
        StringBuilder md = new StringBuilder("| arm | name | modules | mIoU % | params (M) | GFLOPs | training-only params (M) | ms/step | steps |\n");
        md.append("|---|---|---|---|---|---|---|---|---|\n");
        StringBuilder csv = new StringBuilder("arm,name,modules,miou,params,gflops,extra_params,ms_per_step,steps");
        classes.forEach(c -> csv.append(",iou:").append(c.replace(',', ' ')));
        csv.append('\n');
        for (Row r : rows) {
            md.append(String.format("| %d | %s | %s | %.2f | %.3f | %.3f | %.3f | %.1f | %d |%n", r.arm(), r.name(), r.modules(), 100 * r.miou(),
                    r.params() / 1e6, r.gflops(), r.extraParams() / 1e6, r.msPerStep(), r.steps()));
            csv.append(String.format("%d,%s,%s,%.6f,%d,%.6f,%d,%.3f,%d", r.arm(), r.name(), r.modules(), r.miou(), r.params(), r.gflops(),
                    r.extraParams(), r.msPerStep(), r.steps()));
            classes.forEach(c -> csv.append(String.format(",%.6f", r.iou().getOrDefault(c, 0.0))));
            csv.append('\n');
        }
        if (!classes.isEmpty()) {
            md.append("\nPer-class IoU %\n\n| class |");
            rows.forEach(r -> md.append(' ').append(r.name()).append(" |"));
            md.append("\n|---|").append("---|".repeat(rows.size())).append('\n');
            for (String c : classes) {
                md.append("| ").append(c).append(" |");
                rows.forEach(r -> md.append(String.format(" %.2f |", 100 * r.iou().getOrDefault(c, 0.0))));
                md.append('\n');
            }
        }
        Files.createDirectories(output);
        Files.writeString(output.resolve("results.md"), md.toString());
        Files.writeString(output.resolve("results.csv"), csv.toString());
        List<String> names = rows.stream().map(Row::name).toList();
        Plots.losses(output.resolve("loss.png"), "training loss per arm", names, rows.stream().map(Row::losses).toList(), 20);
        Plots.bars(output.resolve("miou.png"), "best validation mIoU per arm", names, rows.stream().map(r -> 100 * r.miou()).toList());
    }

    static void writeRow(Path output, Row r) throws IOException {
        Path rows = Files.createDirectories(output.resolve("rows"));
        JsonObject o = new JsonObject();
        o.addProperty("arm", r.arm());
        o.addProperty("name", r.name());
        o.addProperty("modules", r.modules());
        o.addProperty("miou", r.miou());
        o.addProperty("params", r.params());
        o.addProperty("gflops", r.gflops());
        o.addProperty("extra_params", r.extraParams());
        o.addProperty("ms_per_step", r.msPerStep());
        o.addProperty("steps", r.steps());
        JsonObject iou = new JsonObject();
        r.iou().forEach(iou::addProperty);
        o.add("iou", iou);
        com.google.gson.JsonArray losses = new com.google.gson.JsonArray();
        r.losses().forEach(v -> losses.add(Double.isFinite(v) ? v : null));
        o.add("losses", losses);
        Files.writeString(rows.resolve(String.format("arm-%03d.csv", r.arm())), o.toString() + "\n");
    }

    static Row readRow(Path f) throws IOException {
        JsonObject o = JsonParser.parseString(Files.readString(f)).getAsJsonObject();
        Map<String, Double> iou = new LinkedHashMap<>();
        o.getAsJsonObject("iou").entrySet().forEach(e -> iou.put(e.getKey(), e.getValue().getAsDouble()));
        List<Double> losses = new ArrayList<>();
        for (JsonElement e : o.getAsJsonArray("losses")) losses.add(e.isJsonNull() ? Double.NaN : e.getAsDouble());
        return new Row(o.get("arm").getAsInt(), o.get("name").getAsString(), o.get("modules").getAsString(), o.get("miou").getAsDouble(),
                o.get("params").getAsLong(), o.get("gflops").getAsDouble(), o.get("extra_params").getAsLong(), o.get("ms_per_step").getAsDouble(),
                o.get("steps").getAsLong(), iou, losses);
    }

    /** What a run's metrics.jsonl says about its evaluations and modules. */
    record Evaluations(Map<String, Double> bestIou, long moduleParams) {
        static Evaluations read(Path metrics) throws IOException {
            double best = -1;
            Map<String, Double> bestIou = new LinkedHashMap<>();
            long params = 0;
            for (String line : Files.readAllLines(metrics)) {
                JsonObject o = JsonParser.parseString(line).getAsJsonObject();
                String type = o.get("type").getAsString();
                if (type.equals("MODULES_CHANGED") && o.has("module_params")) params = o.get("module_params").getAsLong();
                if (type.equals("EVALUATION") && o.get("miou").getAsDouble() > best) {
                    best = o.get("miou").getAsDouble();
                    bestIou.clear();
                    o.entrySet().stream().filter(e -> e.getKey().startsWith("iou."))
                            .forEach(e -> bestIou.put(e.getKey().substring(4), e.getValue().getAsDouble()));
                }
            }
            return new Evaluations(bestIou, params);
        }
    }
}
