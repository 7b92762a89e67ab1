package dev.retort.runner.train;

import ai.djl.nn.Parameter;
import dev.retort.api.backbone.SegmentationNetwork;
import dev.retort.api.error.RetortConfigException;
import dev.retort.api.run.CheckpointKeys;
import dev.retort.distill.support.ModuleRoster;
import dev.retort.safetensors.SafeTensorsFile;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * The run key {@code init = FILE}: a fresh run (step 0, zero AdamW moments, the run's own schedule) that starts from
 * the weights of a checkpoint instead of its initialisation. Unlike {@code --resume}, nothing of the file's training
 * state is taken: its optimiser state ({@code optim.*}) and step are ignored, saying so.
 *
 * <p>The file may name its tensors as TransKD does ({@code student.*}, {@code teacher.*}, {@code skfs.*},
 * {@code embed{i}_linearproject.*}, with or without DataParallel's {@code module.}) or as a Retort checkpoint does
 * ({@code modules.<module>.<reference key>}). The student and the teacher are all or nothing: a network the file names
 * must find every one of its parameters there, with its shape, and the file must hold no tensor the network lacks
 * (a different architecture would otherwise start half-initialised). A module takes what the file has for it and the
 * log names what starts from its initialisation. PyTorch's {@code num_batches_tracked} counters are not used (Retort's
 * BatchNorm uses momentum 0.1, which never reads them); the log says how many.
 */
final class InitCheckpoint {
    /** The run key. */
    static final String KEY = "init";
    private static final String COUNTER = "num_batches_tracked";

    private final Path file;
    /** Key without {@code module.} → key in the file. */
    private final Map<String, String> keys = new LinkedHashMap<>();
    private final Set<String> used = new LinkedHashSet<>();

    private InitCheckpoint(Path file, SafeTensorsFile f) {
        this.file = file;
        for (String k : f.tensors().keySet()) {
            String bare = CheckpointKeys.withoutDataParallel(k);
            if (bare.startsWith(CheckpointKeys.STUDENT) || bare.startsWith(CheckpointKeys.TEACHER)) {
                String rest = bare.substring(bare.indexOf('.') + 1);  // student.module.x → student.x
                bare = bare.substring(0, bare.indexOf('.') + 1) + CheckpointKeys.withoutDataParallel(rest);
            }
            String earlier = keys.put(bare, k);
            if (earlier != null) throw new RetortConfigException("init = " + file + ": holds both " + earlier + " and " + k + " (the same tensor with and without 'module.')");
        }
    }

    /** Indexes the file's tensors (nothing is loaded yet). */
    static InitCheckpoint open(Path file) throws IOException {
        if (!Files.isRegularFile(file)) throw new RetortConfigException("init = " + file + ": no such file");
        try (SafeTensorsFile f = SafeTensorsFile.open(file)) {
            return new InitCheckpoint(file, f);
        }
    }

    /**
     * Loads {@code role}'s tensors ({@code student.*} / {@code teacher.*}) into {@code net}, all or nothing; a network the
     * file does not name keeps its initialisation or weights file, saying so.
     */
    void network(String role, SegmentationNetwork net, Consumer<String> log) throws IOException {
        String prefix = role + ".";
        Map<String, Parameter> params = net.parameters();
        List<String> mine = keys.keySet().stream().filter(k -> k.startsWith(prefix) && !k.endsWith(COUNTER)).toList();
        if (mine.isEmpty()) {
            log.accept("init: no " + prefix + "* tensors in " + file + ": the " + role + " keeps its " + (role.equals("teacher") ? "weights" : "initialisation or weights"));
            return;
        }
        List<String> problems = new ArrayList<>(), unexpected = new ArrayList<>(), missing = new ArrayList<>();
        for (String k : mine) if (!params.containsKey(k.substring(prefix.length()))) unexpected.add(keys.get(k));
        Map<Parameter, float[]> values = new LinkedHashMap<>();
        try (SafeTensorsFile f = SafeTensorsFile.open(file)) {
            for (Map.Entry<String, Parameter> e : params.entrySet()) {
                String key = keys.get(prefix + e.getKey());
                if (key == null) {
                    missing.add(prefix + e.getKey());
                    continue;
                }
                float[] v = read(f, key, e.getValue(), problems);
                if (v != null) values.put(e.getValue(), v);
            }
        }
        if (!unexpected.isEmpty()) problems.add(unexpected.size() + " tensors the " + role + " does not have: " + head(unexpected));
        if (!missing.isEmpty()) problems.add(missing.size() + " of its " + params.size() + " tensors missing: " + head(missing));
        if (!problems.isEmpty()) {
            throw new RetortConfigException("init = " + file + " does not fit the " + role + " (nothing was loaded): " + String.join("; ", problems));
        }
        values.forEach((p, v) -> p.getArray().set(FloatBuffer.wrap(v)));
        mine.forEach(used::add);
        log.accept("init: " + role + ": " + values.size() + " tensors from " + file);
    }

    /**
     * Loads each module's tensors, under their namespaced or bare reference keys; the log names, per module, how many
     * it got and which of its tensors start from their initialisation.
     */
    void modules(ModuleRoster roster, Consumer<String> log) throws IOException {
        Map<String, List<String>> got = new TreeMap<>(), fresh = new TreeMap<>();
        Map<Parameter, float[]> values = new LinkedHashMap<>();
        List<String> problems = new ArrayList<>();
        try (SafeTensorsFile f = SafeTensorsFile.open(file)) {
            for (Map.Entry<String, Parameter> e : roster.parameters().entrySet()) {
                String module = CheckpointKeys.splitModuleKey(e.getKey()).map(s -> s[0]).orElse("?");
                String reference = roster.references().getOrDefault(e.getKey(), e.getKey());
                String source = keys.containsKey(e.getKey()) ? e.getKey() : keys.containsKey(reference) ? reference : null;
                if (source == null) {
                    fresh.computeIfAbsent(module, m -> new ArrayList<>()).add(reference);
                    continue;
                }
                float[] v = read(f, keys.get(source), e.getValue(), problems);
                if (v != null) values.put(e.getValue(), v);
                used.add(source);
                got.computeIfAbsent(module, m -> new ArrayList<>()).add(reference);
            }
        }
        if (!problems.isEmpty()) throw new RetortConfigException("init = " + file + " does not fit the modules: " + String.join("; ", problems));
        values.forEach((p, v) -> p.getArray().set(FloatBuffer.wrap(v)));
        Set<String> modules = new java.util.TreeSet<>(got.keySet());
        modules.addAll(fresh.keySet());
        for (String m : modules) {
            List<String> in = got.getOrDefault(m, List.of()), out = fresh.getOrDefault(m, List.of());
            if (out.isEmpty()) log.accept("init: module " + m + ": all " + in.size() + " tensors from the file (" + summary(in) + ")");
            else if (in.isEmpty()) log.accept("init: module " + m + ": none of its " + out.size() + " tensors in the file; it starts from its initialisation");
            else log.accept("init: module " + m + ": " + in.size() + " tensors from the file (" + summary(in) + "); " + out.size()
                        + " start from their initialisation: " + summary(out));
        }
    }

    /** Says what of the file no part of the run took; called once everything is loaded. */
    void report(boolean hasTeacher, Consumer<String> log) {
        List<String> counters = new ArrayList<>(), optimizer = new ArrayList<>(), teacher = new ArrayList<>(), other = new ArrayList<>();
        for (String k : keys.keySet()) {
            if (used.contains(k)) continue;
            if (k.endsWith(COUNTER)) counters.add(k);
            else if (k.startsWith(CheckpointKeys.OPTIMIZER)) optimizer.add(k);
            else if (k.startsWith(CheckpointKeys.TEACHER)) teacher.add(k);
            else other.add(k);
        }
        if (!counters.isEmpty()) log.accept("init: " + counters.size() + " BatchNorm num_batches_tracked counters not used (Retort's BatchNorm uses momentum 0.1, which never reads them)");
        if (!optimizer.isEmpty()) log.accept("init: the file's optimiser state (" + optimizer.size() + " tensors) is not used: init starts AdamW afresh (--resume continues a run)");
        if (!teacher.isEmpty() && !hasTeacher) log.accept("WARNING init: " + teacher.size() + " teacher.* tensors not used: this run has no teacher");
        if (!other.isEmpty()) log.accept("WARNING init: " + other.size() + " tensors used by no part of this run (a module it does not use?): " + summary(other));
    }

    private static float[] read(SafeTensorsFile f, String key, Parameter p, List<String> problems) throws IOException {
        long[] shape = f.info(key).shape(), expected = p.getArray().getShape().getShape();
        if (!Arrays.equals(shape, expected)) {
            problems.add(key + ": file " + Arrays.toString(shape) + " vs run " + Arrays.toString(expected));
            return null;
        }
        float[] v = f.readFloats(key);
        for (float x : v) {
            if (!Float.isFinite(x)) {
                problems.add(key + ": holds NaN or infinite values");
                return null;
            }
        }
        return v;
    }

    private static String head(List<String> keys) {
        return String.join(", ", keys.subList(0, Math.min(6, keys.size()))) + (keys.size() > 6 ? ", …" : "");
    }

    /** Keys grouped by their first two segments, e.g. {@code skfs.0.* (10)}. */
    private static String summary(List<String> keys) {
        Map<String, Integer> groups = new LinkedHashMap<>();
        for (String k : keys) {
            String[] parts = k.split("\\.");
            String g = parts.length > 2 ? parts[0] + "." + parts[1] + ".*" : k;
            groups.merge(g, 1, Integer::sum);
        }
        List<String> out = new ArrayList<>();
        groups.forEach((g, n) -> out.add(n == 1 && !g.endsWith("*") ? g : g + " (" + n + ")"));
        return out.size() > 12 ? String.join(", ", out.subList(0, 12)) + ", … (" + (out.size() - 12) + " more groups)" : String.join(", ", out);
    }
}
