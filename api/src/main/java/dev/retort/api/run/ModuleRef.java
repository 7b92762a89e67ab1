package dev.retort.api.run;

import java.util.Map;
import java.util.Objects;

/**
 * A distillation module of a run.
 *
 * @param distiller the distiller name ({@code Distiller.name()})
 * @param config    its configuration
 */
public record ModuleRef(String distiller, Map<String, ?> config) {
    public ModuleRef {
        Objects.requireNonNull(distiller, "distiller");
        config = config == null ? Map.of() : Map.copyOf(config);
    }
}
