package dev.retort.distill.support;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Marks an attribute of a distiller's MetaType annotation as structural: a new value cannot be applied to a built
 * module (it changes a parameter shape, the parameter set, or an initial value of a learnable parameter), so
 * {@link ConfiguredModule#reconfigure} answers a rebuild. An attribute without it is applied in place.
 *
 * <p>The reconfiguration's message is built from it: {@code <key> <old> -> <new>[ (<note>)] <value>}, e.g.
 * {@code stages 4 -> 3,4 changes the connectors}, or {@code alpha 0.5 -> 1.0 (an initial value) changes the parameters}.
 */
@Documented
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.METHOD)
public @interface Structural {
    /** What a change does to the module, e.g. {@code changes the parameter shapes}. */
    String value();

    /** Said after the change of this key, e.g. {@code an initial value}; empty for nothing. */
    String note() default "";
}
