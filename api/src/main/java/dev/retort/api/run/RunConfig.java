package dev.retort.api.run;

import java.util.List;
import java.util.Objects;

/**
 * A complete run description.
 *
 * @param name         run name (output folder, logs)
 * @param teacher      the frozen teacher, or {@code null} for a student-only baseline
 * @param student      the student
 * @param data         the data
 * @param modules      distillation modules (may be empty)
 * @param optimisation optimisation settings
 * @param seed         seed of initialisation and data order
 * @param device       {@code auto}, {@code cpu} or {@code gpu[:n]}
 */
public record RunConfig(String name, ModelRef teacher, ModelRef student, DataRef data, List<ModuleRef> modules,
                        Optimisation optimisation, long seed, String device) {
    public RunConfig {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(student, "student");
        Objects.requireNonNull(data, "data");
        Objects.requireNonNull(optimisation, "optimisation");
        modules = modules == null ? List.of() : List.copyOf(modules);
        device = device == null ? "auto" : device;
    }
}
