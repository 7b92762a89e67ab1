package dev.retort.api.run;

import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;

/**
 * A network of a run.
 *
 * @param variant backbone variant, e.g. {@code mit-b2}
 * @param config  architectural overrides (may be empty)
 * @param weights weights file (safetensors), or {@code null} to start from initialisation
 */
public record ModelRef(String variant, Map<String, ?> config, Path weights) {
    public ModelRef {
        Objects.requireNonNull(variant, "variant");
        config = config == null ? Map.of() : Map.copyOf(config);
    }
}
