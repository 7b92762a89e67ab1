package dev.retort.distill.support;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import dev.retort.api.distill.DistillContext;
import dev.retort.api.distill.DistillStep;
import dev.retort.api.distill.DistillationModule;
import dev.retort.api.distill.Distiller;
import dev.retort.api.distill.Labels;
import dev.retort.api.distill.LossTerm;
import dev.retort.api.distill.PortRefiner;
import dev.retort.api.distill.Probe;
import dev.retort.api.distill.Refinement;
import dev.retort.api.distill.TrainingProgress;
import dev.retort.api.error.RetortConfigException;
import dev.retort.api.tap.TapLayout;
import dev.retort.api.tap.TapValues;
import dev.retort.nn.ArrayScope;
import dev.retort.safetensors.SafeTensorsFile;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;

/**
 * The distillation modules of a run (the roster), built from distiller services and wired together through their ports,
 * without knowing any module by name: every refinement goes to the port it names, in {@link Refinement#order()}
 * order (then module name); a refinement of a port no module offers fails the build.
 *
 * <p>Each module's parameters live in a namespace of their own, {@code modules.<module>.<reference key>}, in the
 * optimiser and in checkpoints, so two modules may use the same reference name (a third-party PEA variant next
 * to PEA). Loading also accepts the bare reference keys of TransKD's checkpoints and of older Retort ones.
 */
public final class ModuleRoster implements AutoCloseable {
    /** A distiller with the configuration to build it with. */
    public record Request(Distiller distiller, Map<String, ?> config) {}

    private record Wired(String module, Refinement refinement) {}

    /** Prefix of every module parameter's key in the optimiser and in checkpoints. */
    public static final String NAMESPACE = "modules.";

    private final List<DistillationModule> modules;
    private final Map<String, List<Wired>> refinements;
    private final Map<String, Parameter> parameters;
    private final Map<String, String> references;

    private ModuleRoster(List<DistillationModule> modules, Map<String, List<Wired>> refinements, Map<String, Parameter> parameters,
                      Map<String, String> references) {
        this.modules = modules;
        this.refinements = refinements;
        this.parameters = parameters;
        this.references = references;
    }

    /** The checkpoint key of a module's parameter: {@code modules.<module>.<reference key>}. */
    public static String key(String module, String reference) {
        return NAMESPACE + module + "." + reference;
    }

    /** Whether a built module may join the others of a run: {@link Accepted}, or {@link Refused} with the reason. */
    public sealed interface Join {
        /** It may join. */
        record Accepted() implements Join {}

        /** It cannot join, for {@code reason} (a sentence about the module: "it has no name"). */
        record Refused(String reason) implements Join {
            public Refused {
                Objects.requireNonNull(reason, "reason");
            }
        }
    }

    private static final Join ACCEPTED = new Join.Accepted();

    /**
     * Whether {@code candidate} can join {@code others}: refused for a name already taken, a parameter without an
     * array, or a module that throws when asked for its parameters, ports or refinements. Wiring is not checked here
     * (see {@link #unwired}).
     *
     * @since 1.3
     */
    public static Join join(DistillationModule candidate, List<DistillationModule> others) {
        try {
            String name = candidate.name();
            if (name == null || name.isBlank()) return new Join.Refused("it has no name");
            for (DistillationModule o : others) {
                if (o != candidate && name.equals(o.name())) return new Join.Refused("another active module is also named " + name);
            }
            for (Map.Entry<String, Parameter> p : candidate.parameters().entrySet()) {
                if (p.getKey() == null || p.getValue() == null || p.getValue().getArray() == null) {
                    return new Join.Refused("its parameter " + p.getKey() + " has no array");
                }
            }
            candidate.ports().forEach(Objects::requireNonNull);
            candidate.refinements().forEach(r -> Objects.requireNonNull(r.port(), "a refinement without a port"));
            return ACCEPTED;
        } catch (RuntimeException | LinkageError e) {
            return new Join.Refused("it fails when asked for its parameters, ports or refinements: " + e);
        }
    }

    /**
     * Why {@code candidate} cannot join {@code others}, or null when it can.
     *
     * @deprecated use {@link #join}, whose answer is a type
     */
    @Deprecated(since = "1.3")
    public static String cannotJoin(DistillationModule candidate, List<DistillationModule> others) {
        return join(candidate, others) instanceof Join.Refused r ? r.reason() : null;
    }

    /**
     * Where modules are built: the teacher's and the student's taps, the manager their parameters live in and the
     * initialisation seed. Every module of a run, of {@code kd:modules} and of a parity check is built here.
     */
    public record Factory(TapLayout teacher, TapLayout student, NDManager manager, long seed) {
        public Factory {
            Objects.requireNonNull(teacher, "teacher");
            Objects.requireNonNull(student, "student");
            Objects.requireNonNull(manager, "manager");
        }

        /** What {@code distiller} gets to build (or re-configure) a module with {@code config}. */
        public DistillContext context(Map<String, ?> config) {
            return new DistillContext(teacher, student, config, manager, seed);
        }

        /** One module (not wired: see {@link ModuleRoster#of}). */
        public DistillationModule build(Distiller distiller, Map<String, ?> config) {
            return distiller.build(context(config));
        }

        /** Every requested module, wired; none is left open when one fails to build or the set does not wire up. */
        public ModuleRoster build(List<Request> requests) {
            List<DistillationModule> built = new ArrayList<>();
            try {
                for (Request r : requests) built.add(build(r.distiller(), r.config()));
                return of(built);
            } catch (RuntimeException e) {
                built.forEach(DistillationModule::close);
                throw e;
            }
        }
    }

    /** {@code new Factory(teacher, student, manager, seed).build(requests)}. */
    public static ModuleRoster build(List<Request> requests, TapLayout teacher, TapLayout student, NDManager manager, long seed) {
        return new Factory(teacher, student, manager, seed).build(requests);
    }

    /** A module that threw during a step, named. */
    public static final class ModuleFailure extends RuntimeException {
        private static final long serialVersionUID = 1L;
        private final String module;

        ModuleFailure(String module, RuntimeException cause) {
            super(module + " failed: " + cause.getMessage(), cause);
            this.module = module;
        }

        public String module() {
            return module;
        }
    }

    /**
     * Wires already built modules (the caller keeps ownership when this throws). Used when modules are swapped
     * during a run: kept modules keep their parameters, new ones join.
     */
    public static ModuleRoster of(List<DistillationModule> built) {
        Map<String, String> portOwners = new TreeMap<>();
        Map<String, Parameter> parameters = new LinkedHashMap<>();
        Map<String, String> references = new LinkedHashMap<>();
        Set<String> names = new HashSet<>();
        for (DistillationModule m : built) {
            if (!names.add(m.name())) throw new IllegalArgumentException("two modules are named " + m.name());
            for (String port : m.ports()) portOwners.putIfAbsent(port, m.name());
            for (Map.Entry<String, Parameter> p : m.parameters().entrySet()) {
                parameters.put(key(m.name(), p.getKey()), p.getValue());
                references.put(key(m.name(), p.getKey()), p.getKey());
            }
        }
        Map<String, List<Wired>> refinements = new TreeMap<>();
        for (DistillationModule m : built) {
            for (Refinement r : m.refinements()) {
                if (!portOwners.containsKey(r.port())) {
                    throw new IllegalArgumentException(m.name() + " refines port " + r.port() + ", which no active module offers"
                            + " (active: " + built.stream().map(DistillationModule::name).toList() + ", ports: " + portOwners.keySet() + ")");
                }
                refinements.computeIfAbsent(r.port(), p -> new ArrayList<>()).add(new Wired(m.name(), r));
            }
        }
        refinements.values().forEach(l -> l.sort(Comparator.comparingInt((Wired w) -> w.refinement().order()).thenComparing(Wired::module)));
        return new ModuleRoster(List.copyOf(built), refinements, Collections.unmodifiableMap(parameters), Collections.unmodifiableMap(references));
    }

    /** Names of the modules whose refinements target ports no module of {@code built} offers. */
    public static List<String> unwired(List<DistillationModule> built) {
        Set<String> ports = new HashSet<>();
        built.forEach(m -> ports.addAll(m.ports()));
        return built.stream().filter(m -> m.refinements().stream().anyMatch(r -> !ports.contains(r.port()))).map(DistillationModule::name).toList();
    }

    /** Every loss term of one step, module by module, without training progress or labels (dry steps, parity). */
    public List<LossTerm> forward(TapValues teacher, TapValues student, boolean training, NDManager stepManager, Probe probe) {
        return forward(teacher, student, training, stepManager, probe, TrainingProgress.FIRST, null);
    }

    /**
     * Every loss term of one step, module by module.
     *
     * @param progress where training stands
     * @param labels   the batch's ground truth, or null where there is none
     */
    public List<LossTerm> forward(TapValues teacher, TapValues student, boolean training, NDManager stepManager, Probe probe,
                                  TrainingProgress progress, Labels labels) {
        PortRefiner refiner = (port, value, step) -> {
            NDArray v = value;
            for (Wired w : refinements.getOrDefault(port, List.of())) {
                try {
                    v = w.refinement().apply(v, step);
                } catch (ModuleFailure f) {
                    throw f;
                } catch (RuntimeException e) {
                    throw new ModuleFailure(w.module(), e);
                }
            }
            return v;
        };
        // Each module computes in a scope of its own over the taps: what it made on the way is released when it returns (its
        // graph keeps what the backward needs); its loss terms, and what it shows a probe, stay in the step's manager.
        List<NDArray> taps = new ArrayList<>(student.values().values());
        taps.addAll(teacher.values().values());
        ArrayScope[] open = new ArrayScope[1];
        Probe keeping = probe == Probe.NONE ? probe : (name, value) -> {
            if (open[0] != null) open[0].keep(value);
            probe.record(name, value);
        };
        DistillStep step = new DistillStep(teacher, student, training, stepManager, refiner, keeping, progress, labels);
        List<LossTerm> terms = new ArrayList<>();
        for (DistillationModule m : modules) {
            try (ArrayScope scope = ArrayScope.under(stepManager, taps)) {
                open[0] = scope;
                List<LossTerm> made = m.forward(step);
                made.forEach(t -> scope.keep(t.value()));
                terms.addAll(made);
            } catch (ModuleFailure f) {
                throw f;
            } catch (RuntimeException e) {
                throw new ModuleFailure(m.name(), e);
            } finally {
                open[0] = null;
            }
        }
        return terms;
    }

    public List<DistillationModule> modules() {
        return modules;
    }

    /** Every parameter and buffer of every module, by checkpoint key ({@code modules.<module>.<reference key>}). */
    public Map<String, Parameter> parameters() {
        return parameters;
    }

    /** Checkpoint key → the reference key inside the module's namespace. */
    public Map<String, String> references() {
        return references;
    }

    /** Parameters by bare reference key, for fixtures that name them so (a name two modules share maps to the first). */
    public Map<String, Parameter> byReference() {
        Map<String, Parameter> m = new LinkedHashMap<>();
        parameters.forEach((k, p) -> m.putIfAbsent(references.get(k), p));
        return m;
    }

    /**
     * The key under which {@code file} holds a module parameter: its namespaced key, else its bare reference key (a
     * TransKD checkpoint, or a Retort checkpoint written before namespaces), else null.
     */
    public String keyIn(SafeTensorsFile file, String prefix, String key) {
        if (file.contains(prefix + key)) return prefix + key;
        String bare = prefix + references.get(key);
        return file.contains(bare) ? bare : null;
    }

    /**
     * Loads every module parameter from a checkpoint holding them under their namespaced or bare reference keys
     * (after an optional prefix); other keys of the file are left alone (the student, other modules). Nothing is
     * changed when a key is missing or mis-shaped: the problems are thrown, all of them.
     */
    public int load(SafeTensorsFile file, String prefix) throws IOException {
        List<String> problems = new ArrayList<>();
        Map<String, float[]> values = new LinkedHashMap<>();
        for (Map.Entry<String, Parameter> e : parameters.entrySet()) {
            String key = keyIn(file, prefix, e.getKey());
            if (key == null) {
                problems.add("missing " + prefix + e.getKey() + " (or " + prefix + references.get(e.getKey()) + ")");
                continue;
            }
            long[] expected = e.getValue().getArray().getShape().getShape();
            long[] actual = file.info(key).shape();
            if (!Arrays.equals(expected, actual)) {
                problems.add(key + ": file " + Arrays.toString(actual) + " vs module " + Arrays.toString(expected));
                continue;
            }
            values.put(e.getKey(), file.readFloats(key));
        }
        if (!problems.isEmpty()) {
            throw new RetortConfigException(file.path() + " does not fit the modules " + modules.stream().map(DistillationModule::name).toList()
                    + ": " + String.join("; ", problems));
        }
        values.forEach((k, v) -> parameters.get(k).getArray().set(FloatBuffer.wrap(v)));
        return values.size();
    }

    /** Trainable values of one module. */
    public static long trainable(DistillationModule m) {
        return m.parameters().values().stream().filter(Parameter::requiresGradient).mapToLong(p -> p.getArray().size()).sum();
    }

    /** port → the modules refining it, in order. */
    public Map<String, List<String>> wiring() {
        Map<String, List<String>> w = new TreeMap<>();
        refinements.forEach((port, list) -> w.put(port, list.stream().map(Wired::module).toList()));
        return w;
    }

    @Override
    public void close() {
        modules.forEach(DistillationModule::close);
    }
}
