package dev.retort.api.distill;

import ai.djl.ndarray.NDArray;
import org.osgi.annotation.versioning.ProviderType;

/** Applies every active refinement of a port, in order; implemented by the runner. */
@ProviderType
@FunctionalInterface
public interface PortRefiner {
    /** The identity refiner, for a module used on its own. */
    PortRefiner NONE = (port, value, step) -> value;

    NDArray refine(String port, NDArray value, DistillStep step);
}
