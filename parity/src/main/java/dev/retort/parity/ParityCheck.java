package dev.retort.parity;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import dev.retort.api.backbone.Backbone;
import dev.retort.api.backbone.LoadMode;
import dev.retort.api.backbone.SegmentationNetwork;
import dev.retort.api.distill.Distiller;
import dev.retort.api.parity.ParityCase;
import dev.retort.api.parity.ParityComputation;
import dev.retort.api.tap.TapNames;
import dev.retort.api.tap.TapValues;
import dev.retort.safetensors.SafeTensorsFile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Function;

/**
 * Compares Retort's computation with golden tensors of the reference implementation.
 *
 * <p>Backbone fixtures are a pair {@code <variant>.weights.safetensors} (reference state dict) and
 * {@code <variant>.io.safetensors} ({@code input}, taps, {@code logits}, {@code grad_probe} R and
 * {@code grad.input} / {@code grad.<weight>}: derivatives of {@code sum(logits · R)}), evaluation mode.
 */
public final class ParityCheck {
    /** Outcome of one fixture set. */
    public record Report(String subject, List<Tolerance.Comparison> comparisons, List<String> problems, List<String> inputs, List<String> notes) {
        public Report(String subject, List<Tolerance.Comparison> comparisons, List<String> problems) {
            this(subject, comparisons, problems, List.of());
        }

        public Report(String subject, List<Tolerance.Comparison> comparisons, List<String> problems, List<String> inputs) {
            this(subject, comparisons, problems, inputs, List.of());
        }

        public boolean passed() {
            return problems.isEmpty() && !comparisons.isEmpty() && comparisons.stream().allMatch(Tolerance.Comparison::pass);
        }
    }

    private final Tolerance tolerance;

    public ParityCheck(Tolerance tolerance) {
        this.tolerance = tolerance;
    }

    /** The stems of the {@code *.io.safetensors} files of {@code dir} that no parity case claims: backbone variants. */
    public static List<String> backboneVariants(Path dir, List<ParityCase> cases) throws IOException {
        Set<String> claimed = fixtures(cases);
        List<String> variants = new ArrayList<>();
        try (var files = Files.list(dir)) {
            for (Path p : files.sorted().toList()) {
                String name = p.getFileName().toString();
                if (name.endsWith(".io.safetensors")) {
                    String v = name.substring(0, name.length() - ".io.safetensors".length());
                    if (!claimed.contains(v)) variants.add(v);
                }
            }
        }
        return variants;
    }

    /** Runs the backbone comparison of {@code variant} with the backbone that builds it. */
    public Report backbone(Path dir, String variant, Optional<Backbone> backbone, Engine engine) throws IOException {
        List<String> problems = new ArrayList<>();
        List<Tolerance.Comparison> results = new ArrayList<>();
        Path weights = dir.resolve(variant + ".weights.safetensors");
        Path io = dir.resolve(variant + ".io.safetensors");
        for (Path p : List.of(weights, io)) if (!Files.isRegularFile(p)) problems.add("missing file " + p);
        if (backbone.isEmpty()) problems.add("no backbone service builds '" + variant + "'");
        if (!problems.isEmpty()) return new Report(variant, results, problems);

        try (SafeTensorsFile golden = SafeTensorsFile.open(io); NDManager manager = engine.newBaseManager()) {
            for (String needed : List.of("input", TapNames.LOGITS)) {
                if (!golden.contains(needed)) problems.add(io + " has no '" + needed + "'");
            }
            if (!problems.isEmpty()) return new Report(variant, results, problems);
            long classes = golden.info(TapNames.LOGITS).shape()[1];
            try (SegmentationNetwork net = backbone.get().build(variant, Map.of("num_classes", classes), manager, 0)) {
                net.load(weights, LoadMode.STRICT);
                NDArray input = golden.read("input", manager);
                boolean gradients = golden.contains("grad_probe");
                TapValues taps;
                if (gradients) {
                    input.setRequiresGradient(true);
                    try (GradientCollector collector = engine.newGradientCollector()) {
                        taps = net.forward(input, false);
                        collector.backward(taps.get(TapNames.LOGITS).mul(golden.read("grad_probe", manager)).sum());
                    }
                } else {
                    taps = net.forward(input, false);
                }
                for (String name : golden.tensors().keySet()) {
                    if (name.equals("input") || name.equals("grad_probe")) continue;
                    float[] expected = golden.readFloats(name);
                    NDArray actual;
                    if (name.equals("grad.input")) {
                        actual = input.getGradient();
                    } else if (name.startsWith("grad.")) {
                        Parameter p = net.parameters().get(name.substring("grad.".length()));
                        if (p == null) {
                            problems.add("no parameter " + name.substring(5) + " for " + name);
                            continue;
                        }
                        actual = p.getArray().getGradient();
                    } else if (taps.values().containsKey(name)) {
                        actual = taps.get(name);
                    } else {
                        problems.add("tensor '" + name + "' of " + io.getFileName() + " is not produced by " + variant);
                        continue;
                    }
                    results.add(tolerance.compare(name, actual.toType(DataType.FLOAT32, false).toFloatArray(), expected));
                }
            }
        } catch (IllegalArgumentException e) {
            problems.add(e.getMessage());
        }
        return new Report(variant, results, problems);
    }

    /** The fixtures of {@code cases} of which {@code dir} holds a file (or both), sorted. */
    public static List<String> moduleFixtures(Path dir, List<ParityCase> cases) {
        return fixtures(cases).stream().filter(f -> Files.exists(dir.resolve(f + ".io.safetensors"))
                || Files.exists(dir.resolve(f + ".weights.safetensors"))).toList();
    }

    private static Set<String> fixtures(List<ParityCase> cases) {
        Set<String> stems = new TreeSet<>();
        cases.forEach(c -> stems.add(c.fixture()));
        return stems;
    }

    /**
     * Runs the module comparison of {@code fixture} with the parity cases that name it and the distillers
     * {@code distillers} finds by name.
     */
    public Report modules(Path dir, String fixture, List<ParityCase> cases, Function<String, Optional<Distiller>> distillers, Engine engine)
            throws IOException {
        return ModuleParity.run(dir, fixture, cases, distillers, engine, tolerance);
    }

    /**
     * Runs the computations a bundle registered for {@code fixture}: every tensor they return is compared with the
     * fixture's tensor of the same name (integer ones, such as argmax labels, exactly); every fixture tensor named {@code <fixture>.*} that none returned is a problem
     * (an unchecked expectation is never a pass), but for the inputs a computation declares, which are listed apart.
     */
    public Report computed(Path dir, String fixture, List<ParityComputation> computations, Engine engine) {
        List<String> problems = new ArrayList<>();
        List<Tolerance.Comparison> results = new ArrayList<>();
        boolean single = computations.stream().anyMatch(ParityComputation::singleFile);
        if (single && !computations.stream().allMatch(ParityComputation::singleFile)) {
            return new Report(fixture, results, List.of("the computations of " + fixture + " disagree on whether it is one file or a pair"));
        }
        Path weights = dir.resolve(fixture + (single ? ".safetensors" : ".weights.safetensors"));
        Path io = dir.resolve(fixture + (single ? ".safetensors" : ".io.safetensors"));
        for (Path p : single ? List.of(io) : List.of(weights, io)) if (!Files.isRegularFile(p)) problems.add("missing file " + p);
        if (!problems.isEmpty()) return new Report(fixture, results, problems);
        // the fixture's own bar where it states one (its README's), else this checker's
        Tolerance bar = computations.stream().map(ParityComputation::tolerance).flatMap(java.util.Optional::stream).findFirst()
                .map(b -> new Tolerance(b.atol(), b.rtol())).orElse(tolerance);
        try (SafeTensorsFile golden = SafeTensorsFile.open(io); NDManager m = engine.newBaseManager()) {
            Set<String> checked = new TreeSet<>(), inputs = new TreeSet<>();
            for (ParityComputation c : computations) {
                Map<String, NDArray> actual;
                try {
                    inputs.addAll(c.inputs(io));
                    actual = c.compute(weights, io, m);
                } catch (IOException | RuntimeException e) {
                    problems.add(c.getClass().getSimpleName() + ": " + e.getMessage());
                    continue;
                }
                for (Map.Entry<String, NDArray> e : new TreeMap<>(actual).entrySet()) {
                    if (!golden.contains(e.getKey())) {
                        problems.add(e.getKey() + ": computed, but the fixture has no such tensor");
                        continue;
                    }
                    if (inputs.contains(e.getKey())) {
                        problems.add(e.getKey() + ": declared an input, yet returned as a result (an input compared with itself is no check)");
                        continue;
                    }
                    checked.add(e.getKey());
                    results.add(golden.info(e.getKey()).dtype().floating()
                            ? bar.compare(e.getKey(), e.getValue().toType(DataType.FLOAT32, false).toFloatArray(), golden.readFloats(e.getKey()))
                            : Tolerance.exact(e.getKey(), e.getValue().toType(DataType.INT64, false).toLongArray(), golden.readLongs(e.getKey())));
                }
            }
            inputs.stream().filter(k -> !golden.contains(k)).forEach(k -> problems.add(k + ": declared an input, but the fixture has no such tensor"));
            // a pair's io file may hold other groups' tensors; a single file is the computation's alone
            golden.tensors().keySet().stream().filter(k -> (single || k.startsWith(fixture + ".")) && !checked.contains(k) && !inputs.contains(k))
                    .sorted().forEach(k -> problems.add(k + ": no parity computation reproduces it"));
            return new Report(fixture + (bar == tolerance ? "" : String.format(" (the fixture's bar: atol %.0e, rtol %.0e)", bar.atol(), bar.rtol())),
                    results, problems, List.copyOf(inputs));
        } catch (IOException | RuntimeException e) {
            problems.add(e.getMessage());
        }
        return new Report(fixture, results, problems);
    }

    /** Human-readable table. */
    public static String format(Report r) {
        StringBuilder b = new StringBuilder(r.subject()).append('\n');
        for (Tolerance.Comparison c : r.comparisons()) {
            b.append(String.format("  %-44s max|err| %.3e  (%5.1f%% of tolerance)  %s%s%n", c.tensor(), c.maxAbsError(),
                    100 * c.worstRatio(), c.noise() ? "NOISE" : c.pass() ? "PASS" : "FAIL", c.note().isEmpty() ? "" : "  " + c.note()));
        }
        if (!r.inputs().isEmpty()) b.append("  inputs read from the fixture, not compared: ").append(String.join(", ", r.inputs())).append('\n');
        r.notes().forEach(n -> b.append("  ").append(n).append('\n'));
        r.problems().forEach(p -> b.append("  PROBLEM ").append(p).append('\n'));
        long noise = r.comparisons().stream().filter(Tolerance.Comparison::noise).count();
        b.append("  ").append(r.passed() ? "PASS" : "FAIL").append(": ")
                .append(r.comparisons().stream().filter(c -> c.pass() && !c.noise()).count()).append('/')
                .append(r.comparisons().size() - noise).append(" tensors within tolerance")
                .append(noise == 0 ? "" : ", " + noise + " following rounding noise (shown, not held to the bound)")
                .append(r.problems().isEmpty() ? "" : ", " + r.problems().size() + " problem(s)").append('\n');
        return b.toString();
    }
}
