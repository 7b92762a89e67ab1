package dev.retort.backbones.support;

/**
 * The component properties every {@link ConfiguredBackbone} reads (Declarative Services' component property type):
 * the keys of its ConfigAdmin configuration and their values when it holds none. A family's MetaType annotation
 * declares the same attributes with the same defaults (its descriptions are its own); {@link ConfiguredBackbone}
 * checks that they agree.
 */
public @interface BackboneProperties {
    int classes() default 20;

    double dropPathRate() default 0.1;

    double headDropout() default 0.1;
}
