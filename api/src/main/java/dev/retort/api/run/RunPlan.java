package dev.retort.api.run;

import java.nio.file.Path;
import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * A checked run description.
 *
 * @param config          the run as the api's records
 * @param output          its run folder
 * @param followsRegistry the run names no module list, so it uses every registered, enabled distiller and follows the registry
 * @param description     the flat keys it was read from, sorted
 */
public record RunPlan(RunConfig config, Path output, boolean followsRegistry, Map<String, String> description) {
    public RunPlan {
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(output, "output");
        description = Collections.unmodifiableMap(new TreeMap<>(description));
    }

    /** The description as a run file. */
    public String fileText() {
        StringBuilder b = new StringBuilder("# Retort run\n");
        description.forEach((k, v) -> b.append(k).append(" = ").append(v).append('\n'));
        return b.toString();
    }
}
