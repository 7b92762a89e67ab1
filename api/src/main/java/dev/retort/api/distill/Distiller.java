package dev.retort.api.distill;

import java.util.Map;
import java.util.Optional;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * Builds distillation modules of one kind; registered as an OSGi service by its bundle.
 *
 * <p>Implemented by distillation bundles (also third-party ones), hence {@code @ConsumerType}.
 */
@ConsumerType
public interface Distiller {
    /** Service property carrying {@link #name()}, so runners and shells can filter. */
    String NAME_PROPERTY = "retort.distiller";

    /** Module name, e.g. {@code csf}, {@code pea}, {@code glmixer}. */
    String name();

    /** One line for listings. */
    String description();

    /**
     * Whether runs should use this distiller now (its configuration may switch it off without stopping its
     * bundle).
     */
    default boolean enabled() {
        return true;
    }

    /**
     * Checks a run's configuration of this module (the keys after {@code module.<name>.}) without building it, so
     * that a run is refused at start, before any training: an unknown key is an error that names the key, offers
     * the closest known one and lists all known keys; a value of the wrong type or outside its range is an error
     * that names the key and the value. Build must accept every configuration that passes.
     *
     * <p>The default accepts everything (distillers written against 1.0 check in {@link #build} only).
     *
     * @throws IllegalArgumentException with a message for the user (no class names)
     * @since 1.1
     */
    default void validate(Map<String, ?> configuration) {
        // nothing declared: build() is the only check
    }

    /**
     * Why this distiller's own configuration (its ConfigAdmin PID) was rejected, if it was. A distiller with a
     * rejected configuration stays registered so that listings can say so, but refuses to build: a run never
     * silently uses defaults in place of what the user configured.
     *
     * @return the reason, e.g. {@code weights must be a list of numbers, got 'abc'}; empty when the configuration is in force
     * @since 1.1
     */
    default Optional<String> rejection() {
        return Optional.empty();
    }

    /**
     * Builds a module for this teacher/student pair.
     *
     * @throws IllegalArgumentException when the taps do not fit or the configuration is invalid; the message
     *                                  names the teacher's and the student's side
     */
    DistillationModule build(DistillContext context);
}
