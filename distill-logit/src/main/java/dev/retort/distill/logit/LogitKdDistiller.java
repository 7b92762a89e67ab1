package dev.retort.distill.logit;

import ai.djl.engine.Engine;
import dev.retort.api.distill.DistillContext;
import dev.retort.api.distill.DistillationModule;
import dev.retort.api.distill.Distiller;
import dev.retort.api.tap.TapNames;
import dev.retort.api.tap.TapSpec;
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
 * Pixel-wise logit distillation (Hinton et al.): {@code T² · KL(softmax(z_t/T) ‖ softmax(z_s/T))}, summed over
 * classes and averaged over pixels. Not part of TransKD; it is the smallest complete example of a distiller
 * that a third party can drop into {@code bundles/}.
 */
@Component(service = Distiller.class, configurationPid = LogitKdDistiller.PID,
        property = Distiller.NAME_PROPERTY + "=" + LogitKdDistiller.NAME)
@Designate(ocd = LogitKdDistiller.Config.class)
public class LogitKdDistiller implements Distiller {
    static final String NAME = "logit-kd";
    static final String PID = "dev.retort.distill.logit";

    @ObjectClassDefinition(name = "Retort logit KD", description = "Defaults of the pixel-wise logit distillation module")
    public @interface Config {
        @AttributeDefinition(description = "Softmax temperature T (> 0)")
        double temperature() default 1.0;

        @AttributeDefinition(description = "Loss weight")
        double weight() default 1.0;
    }

    // Bound so that DJL is never touched before the launcher's engine exists.
    @Reference(target = "(engine.name=PyTorch)")
    Engine engine;

    /** Keys of a run's {@code module.logit-kd.} section and of the ConfigAdmin configuration alike. */
    static final Set<String> KEYS = Set.of("temperature", "weight");

    /** The configured defaults of a run's temperature and weight. */
    private record Values(double temperature, double weight) {}

    private final ComponentConfiguration<Values> admin = new ComponentConfiguration<>(NAME, PID, KEYS, new Values(1.0, 1.0), NAME_PROPERTY);

    /** A configuration it cannot accept is reported by {@link #rejection()}, never replaced by the defaults. */
    @Activate
    @Modified
    void configure(Map<String, Object> properties) {
        admin.apply(properties, c -> new Values(c.positive("temperature", 1.0), c.real("weight", 1.0, 0, Double.MAX_VALUE)));
    }

    @Override
    public Optional<String> rejection() {
        return admin.rejection();
    }

    @Override
    public void validate(Map<String, ?> configuration) {
        admin.checkRun(configuration, KEYS);
        Settings s = new Settings(NAME, configuration);
        s.positive("temperature", admin.values().temperature());
        s.real("weight", admin.values().weight(), 0, Double.MAX_VALUE);
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String description() {
        Values v = admin.values();
        return "pixel-wise KL between teacher and student logits (T=" + v.temperature() + ", weight " + v.weight() + ")";
    }

    @Override
    public DistillationModule build(DistillContext context) {
        validate(context.config());
        TapSpec teacher = context.teacher().require(TapNames.LOGITS);
        TapSpec student = context.student().require(TapNames.LOGITS);
        if (teacher.channels() != student.channels() || teacher.stride() != student.stride()) {
            throw new IllegalArgumentException(NAME + ": teacher " + context.teacher().network() + " " + teacher
                    + " and student " + context.student().network() + " " + student
                    + " must have the same classes and stride");
        }
        double[] v = values(context);
        return new LogitKdModule(this, v[0], v[1]);
    }

    /** The temperature and weight a build with this context would use, checked: {@code {temperature, weight}}. */
    double[] values(DistillContext context) {
        validate(context.config());
        Settings s = new Settings(NAME, context.config());
        return new double[] {s.positive("temperature", admin.values().temperature()), s.real("weight", admin.values().weight(), 0, Double.MAX_VALUE)};
    }
}
