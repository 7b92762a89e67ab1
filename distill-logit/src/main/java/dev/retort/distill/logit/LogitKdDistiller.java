package dev.retort.distill.logit;

import ai.djl.engine.Engine;
import dev.retort.api.distill.DistillContext;
import dev.retort.api.distill.DistillationModule;
import dev.retort.api.distill.Distiller;
import dev.retort.api.tap.TapNames;
import dev.retort.api.tap.TapSpec;
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

    private volatile double temperature = 1.0;
    private volatile double weight = 1.0;

    @Activate
    @Modified
    void configure(Config config) {
        requirePositive("temperature", config.temperature());
        temperature = config.temperature();
        weight = config.weight();
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String description() {
        return "pixel-wise KL between teacher and student logits (T=" + temperature + ", weight " + weight + ")";
    }

    @Override
    public DistillationModule build(DistillContext context) {
        TapSpec teacher = context.teacher().require(TapNames.LOGITS);
        TapSpec student = context.student().require(TapNames.LOGITS);
        if (teacher.channels() != student.channels() || teacher.stride() != student.stride()) {
            throw new IllegalArgumentException(NAME + ": teacher " + context.teacher().network() + " " + teacher
                    + " and student " + context.student().network() + " " + student
                    + " must have the same classes and stride");
        }
        double t = number(context, "temperature", temperature);
        requirePositive("temperature", t);
        return new LogitKdModule(this, t, number(context, "weight", weight));
    }

    /** The temperature and weight a build with this context would use: {@code {temperature, weight}}. */
    double[] values(DistillContext context) {
        double t = number(context, "temperature", temperature);
        requirePositive("temperature", t);
        return new double[] {t, number(context, "weight", weight)};
    }

    private static double number(DistillContext context, String key, double fallback) {
        Object v = context.config().get(key);
        if (v == null) return fallback;
        if (v instanceof Number n) return n.doubleValue();
        try {
            return Double.parseDouble(v.toString().trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(NAME + ": " + key + " must be a number, got '" + v + "'");
        }
    }

    private static void requirePositive(String key, double v) {
        if (!(v > 0)) throw new IllegalArgumentException(NAME + ": " + key + " must be > 0, got " + v);
    }
}
