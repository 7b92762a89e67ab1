package org.example.distill.featuremse;

import ai.djl.engine.Engine;
import dev.retort.api.distill.DistillContext;
import dev.retort.api.distill.DistillationModule;
import dev.retort.api.distill.Distiller;
import dev.retort.nn.ComponentConfiguration;
import dev.retort.nn.Settings;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * The OSGi side of the distiller: a Declarative Services component that registers the {@link Distiller} service
 * and reads its configuration (ConfigAdmin PID {@value #PID}, and a run's {@code module.feature-mse.} keys). The
 * math is in {@link FeatureMseModule}, which knows nothing of OSGi.
 */
@Component(service = Distiller.class, configurationPid = FeatureMseDistiller.PID,
        property = Distiller.NAME_PROPERTY + "=" + FeatureMseDistiller.NAME)
@Designate(ocd = FeatureMseDistiller.Config.class)
public class FeatureMseDistiller implements Distiller {
    static final String NAME = "feature-mse";
    static final String PID = "org.example.distill.featuremse";
    static final String WEIGHT = "weight";
    static final double DEFAULT_WEIGHT = 1.0;

    /** What tools that read MetaType show; the values themselves are read by {@link #configure}. */
    @ObjectClassDefinition(name = "Feature MSE distiller", description = "Defaults of the feature-mse module")
    public @interface Config {
        @AttributeDefinition(description = "Loss weight (>= 0)")
        double weight() default DEFAULT_WEIGHT;
    }

    // DJL may be used only once the runtime has started its engine: this reference keeps the component (and so the
    // service) away until the Engine service is registered.
    @Reference(target = "(engine.name=PyTorch)")
    Engine engine;

    private final ComponentConfiguration<Double> admin =
            new ComponentConfiguration<>(NAME, PID, Set.of(WEIGHT), DEFAULT_WEIGHT, NAME_PROPERTY);

    /** A configuration it cannot accept is reported by {@link #rejection()}, never replaced by the defaults. */
    @Activate
    @Modified
    void configure(Map<String, Object> properties) {
        admin.apply(properties, s -> weight(s, DEFAULT_WEIGHT));
    }

    @Override
    public Optional<String> rejection() {
        return admin.rejection();
    }

    /** A run's {@code module.feature-mse.} keys: unknown keys and bad values fail before the run starts. */
    @Override
    public void validate(Map<String, ?> configuration) {
        admin.checkRun(configuration, Set.of(WEIGHT));
        weight(new Settings(NAME, configuration), admin.values());
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String description() {
        return "MSE between the teacher's last-stage features and the student's, projected by a 1x1 convolution (weight "
                + admin.values() + ")";
    }

    @Override
    public DistillationModule build(DistillContext context) {
        return FeatureMseModule.build(context, weight(context), this::weight);
    }

    /** The loss weight a module built with {@code context} uses: the run's value over the configured default. */
    double weight(DistillContext context) {
        validate(context.config());
        return weight(new Settings(NAME, context.config()), admin.values());
    }

    private static double weight(Settings settings, double fallback) {
        return settings.real(WEIGHT, fallback, 0, Double.MAX_VALUE);
    }
}
