package dev.retort.distill.support;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * On a component of a distiller's options record that holds a key in the form the module uses rather than under the
 * key's own name (e.g. PEA's {@code stageWeights}, the loss weight of each distilled stage, read from the key
 * {@code weights}): the key it stands for, and how a change of it is reported. A component without it stands for
 * the key of its own name ({@code midChannels} for {@code mid_channels}).
 */
@Documented
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.RECORD_COMPONENT)
public @interface Setting {
    /** The run key, e.g. {@code weights}. */
    String key();

    /** How a change is reported, e.g. {@code stage weights}; empty for the key. */
    String shown() default "";
}
