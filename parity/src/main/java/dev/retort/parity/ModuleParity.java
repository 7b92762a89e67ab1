package dev.retort.parity;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import dev.retort.api.distill.Distiller;
import dev.retort.api.distill.LossTerm;
import dev.retort.api.parity.ParityCase;
import dev.retort.api.tap.TapKind;
import dev.retort.api.tap.TapLayout;
import dev.retort.api.tap.TapNames;
import dev.retort.api.tap.TapSpec;
import dev.retort.api.tap.TapValues;
import dev.retort.distill.support.Losses;
import dev.retort.distill.support.ModuleRoster;
import dev.retort.distill.support.Objective;
import dev.retort.nn.Tolerance;
import dev.retort.safetensors.SafeTensorsFile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Function;

/**
 * Parity of distillation modules against a fixture pair ({@code <fixture>.weights/io.safetensors}): the fixture's
 * teacher and student taps go through one module roster per {@link ParityCase} that the distiller bundles contribute
 * (e.g. CSF alone in training mode; PEA at stage 4 with GL-Mixer), and each case's tensors are mapped to the probes,
 * loss terms, gradients and parameters that produce them. The fixture's weighted cross-entropy ({@code ce.*}) is
 * checked too. A group of tensors no case checks is a problem, never a silent pass.
 */
final class ModuleParity {
    /** Tensors every case reads (the inputs) and the objective's own cross-entropy: not a case's group. */
    private static final Set<String> SHARED = Set.of("input", "student", "teacher", "ce");

    private ModuleParity() {}

    /**
     * Checks {@code fixture} in {@code dir} with the cases that name it, building the distillers {@code distillers}
     * finds by name.
     */
    static ParityCheck.Report run(Path dir, String fixture, List<ParityCase> cases, Function<String, Optional<Distiller>> distillers, Engine engine,
                                  Tolerance tolerance) throws IOException {
        List<String> problems = new ArrayList<>();
        List<Tolerance.Comparison> results = new ArrayList<>();
        Path weights = dir.resolve(fixture + ".weights.safetensors");
        Path io = dir.resolve(fixture + ".io.safetensors");
        for (Path p : List.of(weights, io)) if (!Files.isRegularFile(p)) problems.add("missing file " + p);
        if (!problems.isEmpty()) return new ParityCheck.Report(fixture, results, problems);
        List<ParityCase> mine = cases.stream().filter(c -> c.fixture().equals(fixture)).sorted(Comparator.comparing(ParityCase::group)).toList();
        try (SafeTensorsFile golden = SafeTensorsFile.open(io); SafeTensorsFile w = SafeTensorsFile.open(weights)) {
            unchecked(golden, mine, problems);
            for (ParityCase c : mine) {
                if (golden.tensors().keySet().stream().noneMatch(k -> k.startsWith(c.group() + "."))) continue;
                List<ModuleRoster.Request> requests = new ArrayList<>();
                for (ParityCase.Module m : c.modules()) {
                    Optional<Distiller> d = distillers.apply(m.distiller());
                    if (d.isEmpty()) problems.add(c.group() + ": no distiller service '" + m.distiller() + "'");
                    else requests.add(new ModuleRoster.Request(d.get(), m.config()));
                }
                if (requests.size() == c.modules().size()) group(c, requests, golden, w, engine, tolerance, results, problems);
            }
            if (golden.contains("ce.loss")) crossEntropy(golden, engine, tolerance, results);
        } catch (IllegalArgumentException e) {
            problems.add(e.getMessage());
        }
        return new ParityCheck.Report(fixture, results, problems);
    }

    /** Records a problem for each group of tensors of the fixture that no case checks (its bundle missing, say). */
    private static void unchecked(SafeTensorsFile golden, List<ParityCase> cases, List<String> problems) {
        Set<String> groups = new TreeSet<>();
        cases.forEach(c -> groups.add(c.group()));
        Map<String, Integer> left = new TreeMap<>();
        for (String name : golden.tensors().keySet()) {
            String group = name.contains(".") ? name.substring(0, name.indexOf('.')) : name;
            if (!SHARED.contains(group) && !groups.contains(group)) left.merge(group, 1, Integer::sum);
        }
        left.forEach((group, n) -> problems.add(group + ".*: " + n + " tensor(s) that no parity case checks (cases known: "
                + (groups.isEmpty() ? "none" : String.join(", ", groups)) + "); is the bundle that contributes it installed?"));
    }

    private static void group(ParityCase g, List<ModuleRoster.Request> requests, SafeTensorsFile golden, SafeTensorsFile weights, Engine engine,
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
                    terms = set.forward(teacher, student, g.training(), m, probes::put);
                    c.backward(Objective.total(null, terms));
                }
                String prefix = g.group() + ".";
                for (String name : golden.tensors().keySet()) {
                    if (!name.startsWith(prefix)) continue;
                    NDArray actual = actual(name.substring(prefix.length()), g, probes, terms, student, set.byReference(), problems);
                    if (actual != null) results.add(tolerance.compare(name, actual.toType(DataType.FLOAT32, false).toFloatArray(), golden.readFloats(name)));
                }
            }
        }
    }

    /** The tensor that corresponds to fixture {@code group.rest}, or null with a problem recorded. */
    private static NDArray actual(String rest, ParityCase g, Map<String, NDArray> probes, List<LossTerm> terms, TapValues student,
                                  Map<String, Parameter> parameters, List<String> problems) {
        String full = g.group() + "." + rest;
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
            for (Map.Entry<String, String> alias : g.probeAliases().entrySet()) {
                if (name.startsWith(alias.getKey())) name = alias.getValue() + name.substring(alias.getKey().length());
            }
            if (name.equals(full)) return p.getValue();
        }
        problems.add(full + ": produced by none of " + g.modules().stream().map(ParityCase.Module::distiller).toList());
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
