package dev.retort.api.distill;

import ai.djl.nn.Parameter;
import java.util.List;
import java.util.Map;
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

    /** Releases the parameters. */
    @Override
    void close();
}
