package dev.retort.api.distill;

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
     * Builds a module for this teacher/student pair.
     *
     * @throws IllegalArgumentException when the taps do not fit or the configuration is invalid; the message
     *                                  names the teacher's and the student's side
     */
    DistillationModule build(DistillContext context);
}
