package dev.retort.api.distill;

import ai.djl.nn.Parameter;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.osgi.annotation.versioning.ConsumerType;

/** A built, trainable distillation module. Training-only: the deployed student never contains it. */
@ConsumerType
public interface DistillationModule extends AutoCloseable {
    /** Name of the distiller that built it. */
    String name();

    /**
     * Parameters and buffers by checkpoint key (the reference names, e.g. {@code skfs.0.conv1.0.weight}), in a
     * stable order. Trainable ones have {@code requiresGradient()}.
     */
    Map<String, Parameter> parameters();

    /** Points of this module's computation that other modules may refine (e.g. {@code pea.input.4}). */
    default List<String> ports() {
        return List.of();
    }

    /** Refinements this module contributes to other modules' ports. */
    default List<Refinement> refinements() {
        return List.of();
    }

    /**
     * Computes this module's loss terms for one step. May return no terms (a pure refiner).
     * New arrays belong to the step's manager.
     */
    List<LossTerm> forward(DistillStep step);

    /**
     * Takes a new configuration during a run (its distiller was re-configured, or the run's module section
     * changed), without rebuilding when the change allows it. {@code context} is what {@link Distiller#build}
     * would get now; the module reads its configuration from it exactly as a build would (the distiller's current
     * defaults under {@code context.config()}). Called on the training thread between two steps.
     *
     * <p>Returns {@link Reconfiguration#applied} after applying non-structural changes (loss weights,
     * temperatures, switches that leave the parameters as they are): the module keeps its trained parameters and
     * the runner keeps their optimiser state. Returns {@link Reconfiguration#rebuild}, having changed nothing,
     * when the change is structural. Throws {@link IllegalArgumentException} for an invalid configuration,
     * having changed nothing.
     *
     * <p>The default asks for a rebuild, so modules that do not implement it keep their former behaviour.
     *
     * @since 1.1
     */
    default Reconfiguration reconfigure(DistillContext context) {
        return Reconfiguration.rebuild(name() + " does not support re-configuration in place");
    }

    /**
     * A phase this module must go through before it distils (see {@link Preparation}); empty when it needs none, or
     * when its prepared state was loaded from a checkpoint (the runner then never prepares it again). The runner asks
     * once, after building the module and loading any saved state.
     *
     * @since 1.2
     */
    default Optional<Preparation> preparation() {
        return Optional.empty();
    }

    /**
     * The teacher taps {@link #forward} reads ({@code features.2}, {@code logits}, …), in the configuration in force. A runner
     * that caches the teacher's outputs ({@code teacher.cache}) stores only the taps its modules name, and runs the teacher
     * only as far as they need (no decode head when no module names the logits); empty when the module does not say, and
     * the runner then computes and keeps every tap of the teacher. A module that names too few fails its
     * step with the missing tap's name, never with a wrong value.
     *
     * @since 1.3
     */
    default Optional<Set<String>> teacherTaps() {
        return Optional.empty();
    }

    /** Releases the parameters. */
    @Override
    void close();
}
