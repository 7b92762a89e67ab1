package dev.retort.distill.pea;

import dev.retort.api.distill.DistillContext;
import dev.retort.api.distill.DistillationModule;
import dev.retort.api.distill.Distiller;
import dev.retort.api.tap.TapNames;
import dev.retort.api.tap.TapSpec;
import dev.retort.distill.support.ConfigValues;
import dev.retort.distill.support.ConfiguredDistiller;
import dev.retort.distill.support.LinearProjection;
import dev.retort.distill.support.Setting;
import dev.retort.distill.support.Structural;
import dev.retort.nn.ParameterSet;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * PEA, Patch Embedding Alignment (TransKD §4): a per-stage Linear from the student's patch-embedding width to the
 * teacher's, and a weighted MSE against the teacher's patch embedding. Offers the ports {@code pea.input.s}
 * (the student embedding before projection) and {@code pea.output.s} (the projection before the loss), which
 * GL-Mixer and EA refine.
 */
@Component(service = Distiller.class, configurationPid = PeaDistiller.PID, property = Distiller.NAME_PROPERTY + "=" + PeaDistiller.NAME)
@Designate(ocd = PeaDistiller.Config.class)
public class PeaDistiller extends ConfiguredDistiller<PeaDistiller.Options> {
    static final String NAME = "pea";
    static final String PID = "dev.retort.distill.pea";

    @ObjectClassDefinition(name = "Retort PEA (Patch Embedding Alignment)",
            description = "Defaults of the PEA module; a run's module configuration overrides them")
    public @interface Config {
        @AttributeDefinition(description = "Stages distilled (1-based), e.g. 1,2,3,4 or 4")
        @Structural("changes the projections")
        String stages() default "1,2,3,4";

        @AttributeDefinition(description = "Loss weight of stages 1..n (the reference: 0.1,0.1,0.5,1.0)")
        String weights() default "0.1,0.1,0.5,1.0";

        @AttributeDefinition(description = "Use this module in runs")
        boolean enabled() default true;
    }

    /** What a build reads: the stages distilled and the loss weight of each (from {@code weights}, one per stage 1..n). */
    public record Options(int[] stages, @Setting(key = "weights", shown = "stage weights") double[] stageWeights) {}

    public PeaDistiller() {
        super(NAME, PID, Config.class);
    }

    /** Stages >= 1, each with a finite weight >= 0. */
    @Override
    protected Options read(ConfigValues v) {
        int[] stages = v.integers("stages");
        double[] weights = v.reals("weights");
        if (stages.length == 0) throw v.invalid("no stages to distill");
        double[] stageWeights = new double[stages.length];
        for (int i = 0; i < stages.length; i++) {
            int st = stages[i];
            if (st < 1 || st > weights.length) {
                throw v.invalid("stage " + st + " has no weight (weights " + v.raw("weights") + " cover stages 1.." + weights.length + ")");
            }
            if (weights[st - 1] < 0) throw v.error("weights", "a list of numbers >= 0", v.raw("weights"));
            stageWeights[i] = weights[st - 1];
        }
        return new Options(stages, stageWeights);
    }

    @Override
    public String description() {
        return "patch-embedding alignment: Linear(C_s -> C_t) + weighted MSE, stages " + configuredValue("stages")
                + ", weights " + configuredValue("weights");
    }

    @Override
    public DistillationModule build(DistillContext context) {
        Options o = options(context);
        ParameterSet params = new ParameterSet(context.manager(), context.seed());
        for (int st : o.stages()) {
            TapSpec student = context.student().require(TapNames.embeds(st));
            TapSpec teacher = context.teacher().require(TapNames.embeds(st));
            if (student.stride() != teacher.stride()) {
                throw invalid("stage " + st + ": student " + context.student().network() + " " + student + " and teacher "
                        + context.teacher().network() + " " + teacher + " differ in stride, so their token counts differ");
            }
            // Framework-default Linear init, as the reference.
            LinearProjection.add(params, PeaModule.key(st), student.channels(), teacher.channels(), true);
        }
        return new PeaModule(this, params, o);
    }
}
