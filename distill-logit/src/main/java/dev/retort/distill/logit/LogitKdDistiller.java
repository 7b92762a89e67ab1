package dev.retort.distill.logit;

import dev.retort.api.distill.DistillContext;
import dev.retort.api.distill.DistillationModule;
import dev.retort.api.distill.Distiller;
import dev.retort.api.tap.TapNames;
import dev.retort.api.tap.TapSpec;
import dev.retort.distill.support.ConfigValues;
import dev.retort.distill.support.ConfiguredDistiller;
import dev.retort.nn.ParameterSet;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * Pixel-wise logit distillation (Hinton et al., "Distilling the Knowledge in a Neural Network", 2015, applied per
 * pixel as segmentation KD baselines do): {@code T² · KL(softmax(z_t/T) ‖ softmax(z_s/T))}, summed over classes and
 * averaged over pixels. Not part of TransKD; a baseline embedded in the launcher, and the smallest complete distiller
 * (no parameters) to start a new one from.
 */
@Component(service = Distiller.class, configurationPid = LogitKdDistiller.PID,
        property = Distiller.NAME_PROPERTY + "=" + LogitKdDistiller.NAME)
@Designate(ocd = LogitKdDistiller.Config.class)
public class LogitKdDistiller extends ConfiguredDistiller<LogitKdDistiller.Options> {
    static final String NAME = "logit-kd";
    static final String PID = "dev.retort.distill.logit";

    @ObjectClassDefinition(name = "Retort logit KD", description = "Defaults of the pixel-wise logit distillation module")
    public @interface Config {
        @AttributeDefinition(description = "Softmax temperature T (> 0)")
        double temperature() default 1.0;

        @AttributeDefinition(description = "Loss weight")
        double weight() default 1.0;

        @AttributeDefinition(description = "Use this module in runs")
        boolean enabled() default true;
    }

    /** What a build reads: temperature > 0, weight >= 0. */
    public record Options(double temperature, double weight) {}

    public LogitKdDistiller() {
        super(NAME, PID, Config.class);
    }

    @Override
    protected Options read(ConfigValues v) {
        return new Options(v.positive("temperature"), v.real("weight", 0, Double.MAX_VALUE));
    }

    @Override
    public String description() {
        Options o = configured();
        return "pixel-wise KL between teacher and student logits (T=" + o.temperature() + ", weight " + o.weight() + ")";
    }

    @Override
    public DistillationModule build(DistillContext context) {
        Options o = options(context);
        TapSpec teacher = context.teacher().require(TapNames.LOGITS);
        TapSpec student = context.student().require(TapNames.LOGITS);
        if (teacher.channels() != student.channels() || teacher.stride() != student.stride()) {
            throw invalid("teacher " + context.teacher().network() + " " + teacher + " and student " + context.student().network() + " "
                    + student + " must have the same classes and stride");
        }
        return new LogitKdModule(this, new ParameterSet(context.manager(), context.seed()), o);
    }
}
