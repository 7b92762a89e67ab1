package dev.retort.api.distill;

import ai.djl.ndarray.NDArray;
import org.osgi.annotation.versioning.ProviderType;

/** Receives named intermediate tensors of a step; implemented by whoever inspects (parity checks, views). */
@ProviderType
@FunctionalInterface
public interface Probe {
    /** Records nothing. */
    Probe NONE = (name, value) -> { };

    void record(String name, NDArray value);
}
