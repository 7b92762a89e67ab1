package dev.retort.parity;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.retort.api.error.RetortConfigException;
import dev.retort.api.run.CheckpointKeys;
import dev.retort.api.run.RunEvent;
import dev.retort.api.run.RunRequest;
import dev.retort.api.run.RunResult;
import dev.retort.api.run.RunState;
import dev.retort.api.run.Runner;
import dev.retort.api.run.TrainingRun;
import dev.retort.safetensors.DType;
import dev.retort.safetensors.SafeTensorsFile;
import dev.retort.safetensors.SafeTensorsWriter;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Whole-training parity: a few steps of the official TransKD-Base training loop ({@code train_TransKDBase.py} with
 * CSF + HCL and PEA), replayed through the runner as {@code kd:train} runs it — the {@link Runner} service, the run's
 * module roster, its objective, AdamW and the student and CSF BatchNorm in training mode — from the reference's initial
 * weights ({@code init}) on its recorded batches (the {@code batch-file} dataset), compared term by term at every
 * step and tensor by tensor after the last.
 *
 * <p>A trajectory folder holds {@code summary.json} (the settings: seed, steps, batch shape, lr, weight decay, the
 * networks' widths, class weights, PEA stage weights), {@code initial.safetensors} (TransKD's key names),
 * {@code batches.safetensors} and {@code expected.safetensors} ({@code loss.<term>.<t>}, {@code final.<key>}). Every
 * setting is read from the folder; a setting this replay does not understand is a problem, never ignored.
 */
public final class TrajectoryParity {
    static final String SUMMARY = "summary.json", INITIAL = "initial.safetensors", BATCHES = "batches.safetensors", EXPECTED = "expected.safetensors";
    /** summary.json keys this replay reads ({@code torch} and {@code total} are information: totals are in expected too). */
    private static final Set<String> SUMMARY_KEYS = Set.of("torch", "seed", "steps", "batch", "lr", "weight_decay", "teacher", "student",
            "class_weights", "embed_weights", "hcl_weight", "mid_channels", "total");
    /** A network's summary keys → the MiT backbone's run keys. */
    private static final Map<String, String> NETWORK_KEYS = Map.of("embed_dims", "embed_dims", "num_heads", "num_heads", "depths", "depths",
            "decoderembed_dim", "decoder_dim", "sr_ratios", "sr_ratios", "mlp_ratios", "mlp_ratios");
    private static final Pattern LOSS = Pattern.compile("loss\\.(.+)\\.(\\d+)");
    private static final String COUNTER = "num_batches_tracked";
    /** A final tensor that other rounding alone moves by more than this share of its tolerance follows rounding noise. */
    static final double NOISE_SHARE = 0.1;
    /** More final tensors than this fraction following noise fails the check: the trajectory would then prove little. */
    static final double MAX_NOISE_FRACTION = 0.1;

    private TrajectoryParity() {}

    /** Whether {@code dir} is a trajectory folder. */
    static boolean isTrajectory(Path dir) {
        return Stream.of(SUMMARY, INITIAL, BATCHES, EXPECTED).allMatch(f -> Files.isRegularFile(dir.resolve(f)));
    }

    /** The Retort loss term a fixture term is compared with. */
    static String term(String fixtureTerm) {
        return switch (fixtureTerm) {
            case "hcl" -> "csf.hcl";
            default -> fixtureTerm;  // ce, total, pea.<stage>
        };
    }

    /** The replayed run's description, every setting from the folder. */
    static Map<String, Object> description(Path dir, Path output) throws IOException {
        JsonObject s = JsonParser.parseString(Files.readString(dir.resolve(SUMMARY))).getAsJsonObject();
        List<String> unknown = s.keySet().stream().filter(k -> !SUMMARY_KEYS.contains(k)).sorted().toList();
        if (!unknown.isEmpty()) throw new RetortConfigException(SUMMARY + ": keys this replay does not understand: " + unknown);
        Map<String, Object> d = new TreeMap<>();
        d.put("name", "trajectory-" + dir.getFileName());
        d.put("output", output.toString());
        d.put("seed", required(s, "seed").getAsLong());
        d.put("device", "cpu");  // as the reference was run; a GPU replay would compare other roundings
        int classes = required(s, "class_weights").getAsJsonArray().size();
        for (String role : List.of("teacher", "student")) {
            d.put(role, role.equals("teacher") ? "mit-b2" : "mit-b0");  // every architectural key below overrides the preset
            JsonObject net = required(s, role).getAsJsonObject();
            for (String k : net.keySet()) {
                String key = NETWORK_KEYS.get(k);
                if (key == null) throw new RetortConfigException(SUMMARY + ": " + role + "." + k + " is not a setting this replay understands");
                d.put(role + "." + key, net.get(k).isJsonArray() ? join(net.get(k).getAsJsonArray()) : net.get(k).getAsString());
            }
            d.put(role + ".num_classes", classes);
            d.put(role + ".drop_path_rate", 0);  // the reference set every DropPath and Dropout2d to 0
            d.put(role + ".head_dropout", 0);
        }
        d.put("dataset", "batch-file");
        d.put("data.root", dir.resolve(BATCHES).toString());
        d.put("data.class_weights", join(required(s, "class_weights").getAsJsonArray()));
        d.put("modules", "csf,pea");
        d.put("module.csf.mid_channels", s.has("mid_channels") ? s.get("mid_channels").getAsInt() : midChannels(dir.resolve(INITIAL)));
        d.put("module.csf.weight", s.has("hcl_weight") ? s.get("hcl_weight").getAsDouble() : 1.0);  // the reference's --review-kd-loss-weight
        JsonArray embed = required(s, "embed_weights").getAsJsonArray();
        List<String> stages = new ArrayList<>();
        for (int i = 1; i <= embed.size(); i++) stages.add(String.valueOf(i));
        d.put("module.pea.stages", String.join(",", stages));
        d.put("module.pea.weights", join(embed));
        d.put("init", dir.resolve(INITIAL).toString());
        JsonArray batch = required(s, "batch").getAsJsonArray();
        d.put("batch_size", batch.get(0).getAsInt());
        d.put("iterations", required(s, "steps").getAsLong());
        d.put("lr", required(s, "lr").getAsDouble());
        d.put("weight_decay", required(s, "weight_decay").getAsDouble());
        d.put("decay_per", "none");  // the reference's learning rate is constant over these steps
        d.put("log_every", 1);
        d.put("eval_every", required(s, "steps").getAsLong());
        d.put("eval_batches", 1);
        d.put("threads", 1);
        return d;
    }

    /** CSF's mid channels, from the deepest cell's first convolution in the initial weights. */
    private static int midChannels(Path initial) throws IOException {
        try (SafeTensorsFile f = SafeTensorsFile.open(initial)) {
            for (String k : List.of("skfs.0.conv1.0.weight", "module.skfs.0.conv1.0.weight")) {
                if (f.contains(k)) return (int) f.info(k).shape()[0];
            }
        }
        throw new RetortConfigException(INITIAL + ": no skfs.0.conv1.0.weight to read CSF's mid channels from");
    }

    /** One replay: its result, the terms it reported per step, its log's init and data lines, its wall time. */
    private record Replay(RunResult result, Map<Long, Map<String, Double>> steps, List<String> log, double seconds) {}

    /**
     * Replays the folder's run through {@code runner} and compares it. A second replay on the same batches with each
     * batch's samples in reverse order — the same mathematics (every loss and batch statistic is a mean over the
     * batch), other rounding — tells which final tensors rounding noise alone moves (a parameter whose gradient is zero
     * in exact arithmetic, e.g. a bias followed by a training-mode BatchNorm, is moved by AdamW's normalised update on
     * its noise): those are shown with their share of the tolerance but not held to it. Every loss term of both replays
     * and every other final tensor is.
     *
     * @param progress where the runs' logs go as they train (may be null)
     */
    public static ParityCheck.Report run(Path dir, Runner runner, PrintStream progress) throws IOException {
        String subject = "trajectory " + dir.getFileName();
        List<String> problems = new ArrayList<>(), notes = new ArrayList<>();
        List<Tolerance.Comparison> results = new ArrayList<>();
        Path output = Files.createTempDirectory("retort-trajectory-");
        Map<String, Object> description, mirrored;
        try {
            description = description(dir, output.resolve("run"));
            mirrored = description(dir, output.resolve("run-reversed"));
        } catch (IllegalArgumentException | IllegalStateException | UnsupportedOperationException e) {
            problems.add(e.getMessage());
            return new ParityCheck.Report(subject, results, problems);
        }
        Path reversed = output.resolve("batches-reversed.safetensors");
        int batches = reverseEachBatch(dir.resolve(BATCHES), reversed);
        mirrored.put("data.root", reversed.toString());
        boolean single = ((Number) description.get("batch_size")).intValue() == 1;
        Replay a, b;
        try {
            a = replay(runner, description, progress);
            b = single ? a : replay(runner, mirrored, progress);  // a batch of one has no other order
        } catch (IllegalArgumentException | IllegalStateException e) {
            problems.add("the replay could not start: " + e.getMessage());
            return new ParityCheck.Report(subject, results, problems);
        }
        a.log().forEach(l -> notes.add("run log: " + l));
        for (Replay r : List.of(a, b)) {
            if (r.result().state() != RunState.FINISHED) {
                problems.add("the " + (r == a ? "" : "mirrored ") + "replay ended " + r.result().state()
                        + (r.result().failure() == null ? "" : ": " + r.result().failure()) + " (its folder: " + output + ")");
            }
        }
        if (!problems.isEmpty()) return new ParityCheck.Report(subject, results, problems, List.of(), notes);
        try (SafeTensorsFile expected = SafeTensorsFile.open(dir.resolve(EXPECTED));
             SafeTensorsFile last = SafeTensorsFile.open(a.result().lastCheckpoint());
             SafeTensorsFile lastMirrored = SafeTensorsFile.open(b.result().lastCheckpoint())) {
            losses(expected, a.steps(), results, problems, "");
            List<Tolerance.Comparison> mirroredLosses = new ArrayList<>();
            losses(expected, b.steps(), mirroredLosses, problems, "the mirrored replay's ");
            mirroredLosses.stream().filter(c -> !c.pass()).forEach(c -> problems.add("the mirrored replay's " + c.tensor() + " is out of tolerance ("
                    + String.format("%.1f%%", 100 * c.worstRatio()) + "): the same mathematics must give the same losses"));
            if (single) {
                notes.add("batch size 1: a batch of one has no other order, so rounding noise cannot be told apart; every final tensor is held to the bound");
            } else {
                notes.add(String.format("mirrored replay (%d batches, each in reverse sample order): worst loss term %.1f%% of tolerance", batches,
                        100 * mirroredLosses.stream().mapToDouble(Tolerance.Comparison::worstRatio).max().orElse(Double.NaN)));
            }
            finals(expected, last, lastMirrored, results, problems, notes);
        }
        summarise(results, notes);
        notes.add(String.format("replay: %d steps through the runner in %.1f s%s (each with its start, final evaluation and checkpoint)",
                a.result().steps(), a.seconds(), single ? "" : String.format(" (mirrored replay %.1f s)", b.seconds())));
        ParityCheck.Report report = new ParityCheck.Report(subject, results, problems, List.of(), notes);
        if (report.passed()) deleteTree(output);
        else notes.add("the replayed runs' folder is kept: " + output);
        return report;
    }

    private static Replay replay(Runner runner, Map<String, Object> description, PrintStream progress) throws IOException {
        Map<Long, Map<String, Double>> steps = new ConcurrentHashMap<>();
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        PrintStream console = new PrintStream(progress == null ? log : new Tee(log, progress), true, StandardCharsets.UTF_8);
        long started = System.nanoTime();
        TrainingRun run = runner.start(new RunRequest(description, null, false, console, e -> {
            if (e.type() == RunEvent.Type.STEP) steps.put(e.step(), e.metrics());
        }, 0));
        RunResult result = run.completion().toCompletableFuture().join();
        double seconds = (System.nanoTime() - started) / 1e9;
        console.flush();
        List<String> lines = new ArrayList<>();
        for (String line : log.toString(StandardCharsets.UTF_8).split("\n")) {
            if (line.contains("] init: ") || line.contains("] data: ") || line.contains("WARNING init")) lines.add(line.substring(line.indexOf("] ") + 2));
        }
        return new Replay(result, steps, lines, seconds);
    }

    /** Writes {@code batches} with each batch's samples in reverse order; returns the number of batches. */
    private static int reverseEachBatch(Path batches, Path out) throws IOException {
        SafeTensorsWriter w = new SafeTensorsWriter();
        int n = 0;
        try (SafeTensorsFile f = SafeTensorsFile.open(batches)) {
            for (String k : f.tensors().keySet()) {
                long[] shape = f.info(k).shape();
                if (shape.length == 0 || shape[0] < 1) throw new RetortConfigException(BATCHES + ": " + k + " has no batch dimension");
                int b = (int) shape[0];
                if (f.info(k).dtype().floating()) {
                    float[] v = f.readFloats(k), r = new float[v.length];
                    int per = v.length / b;
                    for (int i = 0; i < b; i++) System.arraycopy(v, i * per, r, (b - 1 - i) * per, per);
                    w.add(k, shape, r, DType.F32);
                } else {
                    long[] v = f.readLongs(k), r = new long[v.length];
                    int per = v.length / b;
                    for (int i = 0; i < b; i++) System.arraycopy(v, i * per, r, (b - 1 - i) * per, per);
                    w.add(k, shape, r, DType.I64);
                }
                if (k.startsWith("images.")) n++;
            }
        }
        w.write(out);
        return n;
    }

    /** Every {@code loss.<term>.<t>} against the term the run reported at step t. */
    private static void losses(SafeTensorsFile expected, Map<Long, Map<String, Double>> steps, List<Tolerance.Comparison> results, List<String> problems,
                               String which) throws IOException {
        List<String> names = expected.tensors().keySet().stream().filter(k -> k.startsWith("loss."))
                .sorted(Comparator.comparingLong((String k) -> step(k)).thenComparing(k -> k)).toList();
        for (String name : names) {
            Matcher m = LOSS.matcher(name);
            if (!m.matches()) {
                if (which.isEmpty()) problems.add(name + ": not loss.<term>.<step>");
                continue;
            }
            long t = Long.parseLong(m.group(2));
            Map<String, Double> reported = steps.get(t);
            if (reported == null) {
                problems.add(name + ": " + which + "run reported no step " + t);
                continue;
            }
            Double value = reported.get(term(m.group(1)));
            if (value == null) {
                problems.add(name + ": " + which + "run reported no term " + term(m.group(1)) + " at step " + t + " (it reported " + reported.keySet() + ")");
                continue;
            }
            results.add(Tolerance.TRAJECTORY_LOSS.compare(name, new float[] {value.floatValue()}, expected.readFloats(name)));
        }
    }

    /**
     * Every {@code final.<key>} against the run's last checkpoint, found by its TransKD name; a tensor that the mirrored
     * replay (the same mathematics, other rounding) moves by more than {@link #NOISE_SHARE} of its tolerance is shown, not
     * held to the bound.
     */
    private static void finals(SafeTensorsFile expected, SafeTensorsFile last, SafeTensorsFile mirrored, List<Tolerance.Comparison> results,
                               List<String> problems, List<String> notes) throws IOException {
        Map<String, String> byReference = new LinkedHashMap<>();
        for (String k : last.tensors().keySet()) {
            CheckpointKeys.splitModuleKey(k).ifPresent(parts -> {
                String earlier = byReference.put(parts[1], k);
                if (earlier != null) problems.add(parts[1] + ": two modules hold it (" + earlier + ", " + k + ")");
            });
        }
        List<String> counters = new ArrayList<>();
        int compared = 0, noise = 0;
        for (String name : new java.util.TreeSet<>(expected.tensors().keySet())) {
            if (!name.startsWith("final.")) {
                if (!name.startsWith("loss.")) problems.add(name + ": neither loss.<term>.<step> nor final.<key>");
                continue;
            }
            String key = CheckpointKeys.withoutDataParallel(name.substring("final.".length()));
            if (key.endsWith(COUNTER)) {
                counters.add(key);
                continue;
            }
            String actual = key.startsWith(CheckpointKeys.STUDENT) ? key : byReference.get(key);
            if (actual == null || !last.contains(actual)) {
                problems.add(name + ": the run's checkpoint holds no such tensor");
                continue;
            }
            float[] value = last.readFloats(actual);
            Tolerance.Comparison c = Tolerance.Norm.TRAJECTORY_TENSORS.compare(name, value, expected.readFloats(name));
            double sensitivity = mirrored.contains(actual)
                    ? Tolerance.Norm.TRAJECTORY_TENSORS.compare(name, value, mirrored.readFloats(actual)).worstRatio() : 0;
            compared++;
            if (sensitivity > NOISE_SHARE) {
                noise++;
                c = Tolerance.noise(c, sensitivity);
            }
            results.add(c);
        }
        if (noise > MAX_NOISE_FRACTION * compared) {
            problems.add(noise + " of " + compared + " final tensors follow rounding noise (more than " + (int) (100 * MAX_NOISE_FRACTION)
                    + "%): such a trajectory proves little; fewer steps or a smaller learning rate make a set that can be checked");
        }
        if (!counters.isEmpty()) {
            notes.add("not compared: " + counters.size() + " BatchNorm num_batches_tracked counters (Retort's BatchNorm keeps none; at momentum 0.1"
                    + " PyTorch never reads them)");
        }
    }

    /** Per-step worst share of the tolerance and the final tensors' worst share. */
    private static void summarise(List<Tolerance.Comparison> results, List<String> notes) {
        Map<Long, Tolerance.Comparison> worst = new TreeMap<>();
        Tolerance.Comparison worstFinal = null;
        for (Tolerance.Comparison c : results) {
            if (c.tensor().startsWith("loss.")) worst.merge(step(c.tensor()), c, (a, b) -> a.worstRatio() >= b.worstRatio() ? a : b);
            else if (!c.noise() && (worstFinal == null || c.worstRatio() > worstFinal.worstRatio())) worstFinal = c;
        }
        StringBuilder b = new StringBuilder("worst share of the tolerance per step:");
        worst.forEach((t, c) -> b.append(String.format(" %d: %.1f%% (%s)", t, 100 * c.worstRatio(), c.tensor().replaceAll("^loss\\.|\\.\\d+$", ""))));
        notes.add(b.toString());
        if (worstFinal != null) notes.add(String.format("worst share of the tolerance of the final tensors: %.1f%% (%s)", 100 * worstFinal.worstRatio(), worstFinal.tensor()));
        List<String> noise = results.stream().filter(Tolerance.Comparison::noise).map(c -> String.format("%s %.0f%%", c.tensor(), 100 * c.worstRatio())).toList();
        if (!noise.isEmpty()) notes.add("following rounding noise (shown with their share, not held to the bound): " + String.join(", ", noise));
    }

    private static long step(String lossName) {
        Matcher m = LOSS.matcher(lossName);
        return m.matches() ? Long.parseLong(m.group(2)) : -1;
    }

    private static JsonElement required(JsonObject s, String key) {
        JsonElement e = s.get(key);
        if (e == null || e.isJsonNull()) throw new RetortConfigException(SUMMARY + ": no '" + key + "'");
        return e;
    }

    private static String join(JsonArray a) {
        List<String> out = new ArrayList<>();
        a.forEach(e -> out.add(e.getAsString()));
        return String.join(",", out);
    }

    private static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }

    /** Writes to two streams: the log kept for the report and the user's console. */
    private static final class Tee extends java.io.OutputStream {
        private final java.io.OutputStream a, b;

        Tee(java.io.OutputStream a, java.io.OutputStream b) {
            this.a = a;
            this.b = b;
        }

        @Override
        public void write(int x) throws IOException {
            a.write(x);
            b.write(x);
        }

        @Override
        public void write(byte[] bytes, int off, int len) throws IOException {
            a.write(bytes, off, len);
            b.write(bytes, off, len);
        }

        @Override
        public void flush() throws IOException {
            a.flush();
            b.flush();
        }
    }
}
