package dev.retort.api.distill;

import ai.djl.ndarray.NDManager;
import dev.retort.api.tap.TapLayout;
import java.util.Map;
import java.util.Objects;

/**
 * What a {@link Distiller} gets to build a module.
 *
 * @param teacher the teacher's taps
 * @param student the student's taps
 * @param config  module configuration (ConfigAdmin properties or a run file's section); unknown keys are ignored
 * @param manager where the module allocates its parameters
 * @param seed    seed of the parameter initialisation
 */
public record DistillContext(TapLayout teacher, TapLayout student, Map<String, ?> config, NDManager manager, long seed) {
    public DistillContext {
        Objects.requireNonNull(teacher, "teacher");
        Objects.requireNonNull(student, "student");
        Objects.requireNonNull(manager, "manager");
        config = config == null ? Map.of() : Map.copyOf(config);
    }
}
