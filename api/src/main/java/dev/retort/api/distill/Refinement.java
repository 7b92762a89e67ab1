package dev.retort.api.distill;

import ai.djl.ndarray.NDArray;
import org.osgi.annotation.versioning.ConsumerType;

/** A transformation one module applies at another module's port. */
@ConsumerType
public interface Refinement {
    /** The port refined, e.g. {@code pea.output.3}. */
    String port();

    /** Position among the refinements of the same port; lower runs first. */
    default int order() {
        return 0;
    }

    /** Returns the refined value; {@code step} gives access to the taps. */
    NDArray apply(NDArray value, DistillStep step);
}
