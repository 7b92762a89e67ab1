package dev.retort.runner.parity;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import dev.retort.api.distill.Distiller;
import dev.retort.api.distill.LossTerm;
import dev.retort.api.tap.TapKind;
import dev.retort.api.tap.TapLayout;
import dev.retort.api.tap.TapNames;
import dev.retort.api.tap.TapSpec;
import dev.retort.api.tap.TapValues;
import dev.retort.distill.support.Losses;
import dev.retort.distill.support.ModuleRoster;
import dev.retort.distill.support.Objective;
import dev.retort.safetensors.SafeTensorsFile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * Parity of the TransKD modules against {@code transkd-modules.weights/io.safetensors}: the fixture's teacher and
 * student taps go through module sets built from the registered distillers, one set per fixture group
 * (CSF alone in training mode; PEA alone; PEA at stage 4 with GL-Mixer; PEA with EA), plus the weighted
 * cross-entropy. Each group's fixture names are mapped to the probes, loss terms and gradients that produce them.
 */
final class ModuleParity {
    static final String FILE = "transkd-modules";

    /** One fixture group: which distillers (with configurations), what to compare under which fixture prefix. */
    private record Group(String prefix, Map<String, Map<String, ?>> modules, boolean training, Map<String, String> probeNames) {}

    private static final List<Group> GROUPS = List.of(
            new Group("csf", Map.of("csf", Map.of()), true, Map.of()),
            new Group("pea", Map.of("pea", Map.of()), false, Map.of()),
            new Group("glmixer", orderedOf("pea", Map.of("stages", "4", "weights", "0,0,0,1.0"), "glmixer", Map.of()), false,
                    Map.of("pea.out.4", "glmixer.out.4")),
            new Group("ea", orderedOf("pea", Map.of(), "ea", Map.of()), false, Map.of("pea.out.", "ea.out.")));

    private ModuleParity() {}

    private static Map<String, Map<String, ?>> orderedOf(String a, Map<String, ?> ca, String b, Map<String, ?> cb) {
        Map<String, Map<String, ?>> m = new LinkedHashMap<>();
        m.put(a, ca);
        m.put(b, cb);
        return m;
    }

    static ParityCheck.Report run(Path dir, Function<String, Optional<Distiller>> distillers, Engine engine, Tolerance tolerance)
            throws IOException {
        List<String> problems = new ArrayList<>();
        List<Tolerance.Comparison> results = new ArrayList<>();
        Path weights = dir.resolve(FILE + ".weights.safetensors");
        Path io = dir.resolve(FILE + ".io.safetensors");
        for (Path p : List.of(weights, io)) if (!Files.isRegularFile(p)) problems.add("missing file " + p);
        if (!problems.isEmpty()) return new ParityCheck.Report(FILE, results, problems);
        try (SafeTensorsFile golden = SafeTensorsFile.open(io); SafeTensorsFile w = SafeTensorsFile.open(weights)) {
            for (Group g : GROUPS) {
                if (golden.tensors().keySet().stream().noneMatch(k -> k.startsWith(g.prefix + "."))) continue;
                List<ModuleRoster.Request> requests = new ArrayList<>();
                for (Map.Entry<String, Map<String, ?>> m : g.modules.entrySet()) {
                    Optional<Distiller> d = distillers.apply(m.getKey());
                    if (d.isEmpty()) problems.add(g.prefix + ": no distiller service '" + m.getKey() + "'");
                    else requests.add(new ModuleRoster.Request(d.get(), m.getValue()));
                }
                if (requests.size() == g.modules.size()) group(g, requests, golden, w, engine, tolerance, results, problems);
            }
            if (golden.contains("ce.loss")) crossEntropy(golden, engine, tolerance, results);
        } catch (IllegalArgumentException e) {
            problems.add(e.getMessage());
        }
        return new ParityCheck.Report(FILE, results, problems);
    }

    private static void group(Group g, List<ModuleRoster.Request> requests, SafeTensorsFile golden, SafeTensorsFile weights, Engine engine,
                              Tolerance tolerance, List<Tolerance.Comparison> results, List<String> problems)
            throws IOException {
        try (NDManager m = engine.newBaseManager()) {
            TapValues teacher = taps(golden, "teacher.", m, false);
            TapValues student = taps(golden, "student.", m, true);
            try (ModuleRoster set = ModuleRoster.build(requests, layout(teacher), layout(student), m, 0)) {
                set.load(weights, "");
                Map<String, NDArray> probes = new HashMap<>();
                List<LossTerm> terms;
                try (GradientCollector c = engine.newGradientCollector()) {
                    terms = set.forward(teacher, student, g.training, m, probes::put);
                    c.backward(Objective.total(null, terms));
                }
                String prefix = g.prefix + ".";
                for (String name : golden.tensors().keySet()) {
                    if (!name.startsWith(prefix)) continue;
                    String rest = name.substring(prefix.length());
                    NDArray actual = actual(name.substring(prefix.length()), g, probes, terms, student, set.byReference(), problems);
                    if (actual != null) results.add(tolerance.compare(name, actual.toType(DataType.FLOAT32, false).toFloatArray(), golden.readFloats(name)));
                }
            }
        }
    }

    /** The tensor that corresponds to fixture {@code group.rest}, or null with a problem recorded. */
    private static NDArray actual(String rest, Group g, Map<String, NDArray> probes, List<LossTerm> terms, TapValues student,
                                  Map<String, Parameter> parameters, List<String> problems) {
        String full = g.prefix + "." + rest;
        if (rest.startsWith("grad.student.")) {
            return student.get(rest.substring("grad.student.".length())).getGradient();
        }
        if (rest.startsWith("grad.") || rest.startsWith("after.")) {
            Parameter p = parameters.get(rest.substring(rest.indexOf('.') + 1));
            if (p == null) {
                problems.add(full + ": no module parameter " + rest.substring(rest.indexOf('.') + 1));
                return null;
            }
            return rest.startsWith("grad.") ? p.getArray().getGradient() : p.getArray();
        }
        if (rest.equals("loss") || rest.startsWith("loss.")) return Objective.total(null, terms);
        Optional<LossTerm> term = terms.stream().filter(t -> t.name().equals(full)).findFirst();
        if (term.isPresent()) return term.get().value();
        for (Map.Entry<String, NDArray> p : probes.entrySet()) {
            String name = p.getKey();
            for (Map.Entry<String, String> alias : g.probeNames.entrySet()) {
                if (name.startsWith(alias.getKey())) name = alias.getValue() + name.substring(alias.getKey().length());
            }
            if (name.equals(full)) return p.getValue();
        }
        problems.add(full + ": produced by none of " + g.modules.keySet());
        return null;
    }

    private static void crossEntropy(SafeTensorsFile golden, Engine engine, Tolerance tolerance, List<Tolerance.Comparison> results)
            throws IOException {
        try (NDManager m = engine.newBaseManager()) {
            NDArray loss = Losses.weightedCrossEntropy(golden.read("ce.logits", m), golden.read("ce.labels", m), golden.read("ce.class_weights", m));
            results.add(tolerance.compare("ce.loss", new float[] {loss.getFloat()}, golden.readFloats("ce.loss")));
        }
    }

    /** Taps of one side from the fixture; the student's stage inputs are the image and its own earlier stage maps. */
    private static TapValues taps(SafeTensorsFile golden, String side, NDManager m, boolean gradients) throws IOException {
        Map<String, NDArray> taps = new LinkedHashMap<>();
        for (String name : golden.tensors().keySet()) {
            if (!name.startsWith(side)) continue;
            NDArray a = golden.read(name, m);
            if (gradients) a.setRequiresGradient(true);
            taps.put(name.substring(side.length()), a);
        }
        if (side.equals("student.")) {
            taps.put(TapNames.inputs(1), golden.read("input", m));
            for (int s = 2; taps.containsKey(TapNames.features(s - 1)); s++) taps.put(TapNames.inputs(s), taps.get(TapNames.features(s - 1)));
        }
        return new TapValues(side.substring(0, side.length() - 1), taps);
    }

    /** Static descriptions of fixture taps (stride from the stage-1 input's height). */
    private static TapLayout layout(TapValues values) {
        List<TapSpec> specs = new ArrayList<>();
        int stages = 0;
        for (int s = 1; values.values().containsKey(TapNames.features(s)); s++) stages = s;
        NDArray f1 = values.get(TapNames.features(1));
        long height1 = f1.getShape().get(2);
        for (int s = 1; s <= stages; s++) {
            NDArray f = values.get(TapNames.features(s));
            int stride = (int) (4 * height1 / f.getShape().get(2));  // MiT: stage 1 is 1/4 of the input
            specs.add(new TapSpec(TapNames.features(s), (int) f.getShape().get(1), stride, TapKind.MAP));
            NDArray e = values.values().get(TapNames.embeds(s));
            if (e != null) specs.add(new TapSpec(TapNames.embeds(s), (int) e.getShape().get(2), stride, TapKind.TOKENS));
            NDArray in = values.values().get(TapNames.inputs(s));
            if (in != null) specs.add(new TapSpec(TapNames.inputs(s), (int) in.getShape().get(1), s == 1 ? 1 : stride / 2, TapKind.MAP));
        }
        return new TapLayout(values.network(), stages, specs);
    }
}
