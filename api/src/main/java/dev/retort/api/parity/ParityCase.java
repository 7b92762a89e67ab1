package dev.retort.api.parity;

import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One group of golden tensors and how to reproduce them: build {@code modules} (in this order, wired by their
 * ports) for the fixture's teacher and student taps, load their parameters from the fixture's weights, run one step
 * in training or evaluation mode and differentiate Σ weight·term.
 *
 * <p>The fixture is a pair of safetensors files: {@code <fixture>.weights.safetensors} (the modules' parameters, as
 * the reference names them, before the step) and {@code <fixture>.io.safetensors} ({@code input}, the taps
 * {@code teacher.*} and {@code student.*}, and the expected tensors). The case checks every tensor named
 * {@code <group>.<rest>}: {@code <group>.loss} (the weighted sum), {@code <group>.<term>} (a loss term named so),
 * {@code <group>.grad.student.<tap>} (a tap's gradient), {@code <group>.grad.<key>} and {@code <group>.after.<key>} (a
 * module parameter's gradient and its value after the step, e.g. BatchNorm running statistics), or a tensor a module
 * records with {@code DistillStep.record}, under its own name or the one {@link #probeAliases()} gives it.
 *
 * @param fixture      the fixture pair's file stem, e.g. {@code transkd-modules}
 * @param group        the first segment of the names of the tensors this case checks, e.g. {@code glmixer}
 * @param modules      the distillers to build, by name, with their run configurations, in order
 * @param training     training mode (BatchNorm batch statistics and running-statistics updates) or evaluation mode
 * @param probeAliases recorded-name prefix → fixture-name prefix, for a tensor the fixture names after this group
 *                     (e.g. {@code pea.out.4} → {@code glmixer.out.4}: PEA's projection, refined by GL-Mixer)
 */
public record ParityCase(String fixture, String group, List<Module> modules, boolean training, Map<String, String> probeAliases) {
    public ParityCase {
        Objects.requireNonNull(fixture, "fixture");
        Objects.requireNonNull(group, "group");
        if (group.isEmpty() || group.contains(".")) throw new IllegalArgumentException("a group is one name segment, got '" + group + "'");
        modules = List.copyOf(modules);
        if (modules.isEmpty()) throw new IllegalArgumentException(group + ": a parity case builds at least one module");
        probeAliases = Map.copyOf(probeAliases);
    }

    /**
     * A distiller of the case.
     *
     * @param distiller its name ({@code Distiller.name()})
     * @param config    a run's configuration of it (the keys after {@code module.<name>.})
     */
    public record Module(String distiller, Map<String, String> config) {
        public Module {
            Objects.requireNonNull(distiller, "distiller");
            config = Map.copyOf(config);
        }
    }
}
