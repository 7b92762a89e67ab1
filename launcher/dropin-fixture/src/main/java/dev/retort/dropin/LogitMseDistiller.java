package dev.retort.dropin;

import ai.djl.nn.Parameter;
import dev.retort.api.distill.DistillContext;
import dev.retort.api.distill.DistillStep;
import dev.retort.api.distill.DistillationModule;
import dev.retort.api.distill.Distiller;
import dev.retort.api.distill.LossTerm;
import dev.retort.api.tap.TapNames;
import dev.retort.api.tap.TapSpec;
import dev.retort.distill.support.ConfigValues;
import dev.retort.distill.support.ConfiguredDistiller;
import dev.retort.distill.support.Losses;
import java.util.List;
import java.util.Map;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/** {@code weight · MSE(student logits, teacher logits)}: no parameters, rebuilt on every configuration change. */
@Component(service = Distiller.class, configurationPid = LogitMseDistiller.PID, property = Distiller.NAME_PROPERTY + "=" + LogitMseDistiller.NAME)
@Designate(ocd = LogitMseDistiller.Config.class)
public class LogitMseDistiller extends ConfiguredDistiller<Double> {
    static final String NAME = "logit-mse";
    static final String PID = "dev.retort.dropin.logitmse";

    @ObjectClassDefinition(name = "Retort drop-in fixture", description = "MSE between student and teacher logits")
    public @interface Config {
        @AttributeDefinition(description = "Loss weight")
        double weight() default 1.0;
    }

    public LogitMseDistiller() {
        super(NAME, PID, Config.class);
    }

    /** The weight, >= 0. */
    @Override
    protected Double read(ConfigValues v) {
        return v.real("weight", 0, Double.MAX_VALUE);
    }

    @Override
    public String description() {
        return "MSE between student and teacher logits (weight " + configured() + ")";
    }

    @Override
    public DistillationModule build(DistillContext context) {
        double weight = options(context);
        TapSpec teacher = context.teacher().require(TapNames.LOGITS), student = context.student().require(TapNames.LOGITS);
        if (teacher.channels() != student.channels() || teacher.stride() != student.stride()) {
            throw invalid("teacher " + teacher + " and student " + student + " logits differ");
        }
        return new DistillationModule() {
            @Override
            public String name() {
                return NAME;
            }

            @Override
            public Map<String, Parameter> parameters() {
                return Map.of();
            }

            @Override
            public List<LossTerm> forward(DistillStep step) {
                return List.of(new LossTerm(NAME, weight, Losses.mse(step.student().get(TapNames.LOGITS), step.teacher().get(TapNames.LOGITS))));
            }

            @Override
            public void close() {}
        };
    }
}
