package org.example.distill.featuremse;

import dev.retort.api.distill.DistillContext;
import dev.retort.api.distill.DistillationModule;
import dev.retort.api.distill.Distiller;
import dev.retort.distill.support.ConfigValues;
import dev.retort.distill.support.ConfiguredDistiller;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * The OSGi side of the distiller: a Declarative Services component that registers the {@link Distiller} service.
 * {@link ConfiguredDistiller} (distill-support) reads its ConfigAdmin configuration (PID {@value #PID}) and a run's
 * {@code module.feature-mse.} keys against the defaults stated once in {@link Config}, reports a configuration it
 * cannot accept instead of using defaults, and holds the Engine reference that keeps the component away until DJL
 * has started. The math is in {@link FeatureMseModule}, which knows nothing of OSGi.
 */
@Component(service = Distiller.class, configurationPid = FeatureMseDistiller.PID,
        property = Distiller.NAME_PROPERTY + "=" + FeatureMseDistiller.NAME)
@Designate(ocd = FeatureMseDistiller.Config.class)
public class FeatureMseDistiller extends ConfiguredDistiller<Double> {
    static final String NAME = "feature-mse";
    static final String PID = "org.example.distill.featuremse";

    /** Every key with its default, once: MetaType shows them, and the base class reads them. */
    @ObjectClassDefinition(name = "Feature MSE distiller", description = "Defaults of the feature-mse module")
    public @interface Config {
        @AttributeDefinition(description = "Loss weight (>= 0)")
        double weight() default 1.0;
    }

    public FeatureMseDistiller() {
        super(NAME, PID, Config.class);
    }

    /** The loss weight from the configuration in force (a bad value is an error that names the key). */
    @Override
    protected Double read(ConfigValues values) {
        return values.real("weight", 0, Double.MAX_VALUE);
    }

    @Override
    public String description() {
        return "MSE between the teacher's last-stage features and the student's, projected by a 1x1 convolution (weight " + configured() + ")";
    }

    @Override
    public DistillationModule build(DistillContext context) {
        return FeatureMseModule.build(context, options(context), this::options);
    }
}
