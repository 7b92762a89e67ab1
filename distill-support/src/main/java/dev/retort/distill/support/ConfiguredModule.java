package dev.retort.distill.support;

import dev.retort.api.distill.DistillContext;
import dev.retort.api.distill.Reconfiguration;
import dev.retort.nn.ParameterSet;

/**
 * A module built by a {@link ConfiguredDistiller} with its options: re-configuration is decided here, once for every
 * distiller, from the distiller's declaration ({@link Structural} keys rebuild, the others are applied in place; see
 * {@link ConfiguredDistiller#changes}). A subclass reads its options through {@link #options()} at each use, so an
 * in-place change takes effect at the next step.
 *
 * @param <O> the distiller's options
 */
public abstract class ConfiguredModule<O> extends ParameterModule {
    private final ConfiguredDistiller<O> distiller;
    private volatile O options;

    protected ConfiguredModule(ConfiguredDistiller<O> distiller, ParameterSet params, O options) {
        super(distiller.name(), params);
        this.distiller = distiller;
        this.options = options;
    }

    /** The options in force: those the module was built with, and any change applied in place since. */
    protected final O options() {
        return options;
    }

    /** The run's section read by the distiller; a change of a structural key asks for a rebuild and changes nothing. */
    @Override
    public final Reconfiguration reconfigure(DistillContext context) {
        O next = distiller.options(context);
        Reconfiguration r = distiller.changes(options, next);
        if (r.inPlace()) {
            distiller.checkInPlace(options, next, context);
            options = next;
        }
        return r;
    }
}
