package dev.retort.distill.cwd;

import dev.retort.api.distill.DistillContext;
import dev.retort.api.distill.DistillationModule;
import dev.retort.api.distill.Distiller;
import dev.retort.api.tap.TapNames;
import dev.retort.api.tap.TapSpec;
import dev.retort.distill.support.ConfigValues;
import dev.retort.distill.support.ConfiguredDistiller;
import dev.retort.distill.support.ConvBn;
import dev.retort.distill.support.StagePair;
import dev.retort.distill.support.Structural;
import dev.retort.nn.Init;
import dev.retort.nn.ParameterSet;
import java.util.Arrays;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * Channel-wise distillation (Shu et al., "Channel-wise Knowledge Distillation for Dense Prediction", ICCV 2021): each
 * channel of a map becomes a distribution over its H·W positions, {@code softmax(x / τ)}, and the loss is
 * {@code τ² · Σ_{n,c} KL(p_t ‖ p_s) / (N·C)}. On the logits (the paper's segmentation setting) and/or on stage maps,
 * which first go through a 1×1 conv + BatchNorm + ReLU connector to the teacher's width (TransKD's {@code CWD.py},
 * whose default is the last stage).
 */
@Component(service = Distiller.class, configurationPid = CwdDistiller.PID, property = Distiller.NAME_PROPERTY + "=" + CwdDistiller.NAME)
@Designate(ocd = CwdDistiller.Config.class)
public class CwdDistiller extends ConfiguredDistiller<CwdDistiller.Options> {
    static final String NAME = "cwd";
    static final String PID = "dev.retort.distill.cwd";

    @ObjectClassDefinition(name = "Retort CWD", description = "Defaults of the channel-wise distillation module")
    public @interface Config {
        @AttributeDefinition(description = "Stages whose maps are distilled through a connector (TransKD's CWD.py: 4); empty for none")
        @Structural("changes the connectors")
        String stages() default "4";

        @AttributeDefinition(description = "Also distil the logits (the CWD paper's segmentation setting)")
        boolean logits() default false;

        @AttributeDefinition(description = "Temperature τ (> 0) of the spatial softmax (TransKD's --temperature and CWD's Cityscapes setting: 1.0)")
        double temperature() default 1.0;

        @AttributeDefinition(description = "Loss weight of each stage map's term (TransKD's --lambda-cwd: 1.0)")
        double weight() default 1.0;

        @AttributeDefinition(description = "Loss weight of the logits' term (CWD's official Cityscapes configuration: 5.0)")
        double logitsWeight() default 5.0;

        @AttributeDefinition(description = "Use this module in runs")
        boolean enabled() default true;
    }

    /** What a build reads: distinct stages >= 1 and/or logits, τ > 0, weights >= 0. */
    public record Options(int[] stages, boolean logits, double temperature, double weight, double logitsWeight) {}

    public CwdDistiller() {
        super(NAME, PID, Config.class);
    }

    @Override
    protected Options read(ConfigValues v) {
        int[] stages = v.integers("stages");
        for (int s : stages) if (s < 1) throw v.error("stages", "a list of stage numbers >= 1", v.raw("stages"));
        if (Arrays.stream(stages).distinct().count() != stages.length) throw v.error("stages", "a list of distinct stages", v.raw("stages"));
        boolean logits = v.bool("logits");
        if (stages.length == 0 && !logits) throw v.invalid("nothing to distill: no stages and logits = false");
        return new Options(stages, logits, v.positive("temperature"), v.real("weight", 0, Double.MAX_VALUE), v.real("logits_weight", 0, Double.MAX_VALUE));
    }

    @Override
    public String description() {
        Options o = configured();
        String what = (o.stages().length > 0 ? "stages " + configuredValue("stages") + " (weight " + o.weight() + ")" : "")
                + (o.stages().length > 0 && o.logits() ? " and " : "") + (o.logits() ? "logits (weight " + o.logitsWeight() + ")" : "");
        return "channel-wise distillation: spatial softmax per channel + KL, T=" + o.temperature() + ", " + what;
    }

    @Override
    public DistillationModule build(DistillContext context) {
        Options o = options(context);
        ParameterSet p = new ParameterSet(context.manager(), context.seed());
        for (int st : o.stages()) {
            StagePair pair = StagePair.features(context, NAME, st, "");
            // TransKD's connector: Conv2d(1×1, no bias) with PyTorch's default initialisation, then BN (+ activation).
            ConvBn.add(p, CwdModule.connector(st), pair.student().channels(), pair.teacher().channels(), 1, Init.pytorchDefault(pair.student().channels()));
        }
        if (o.logits()) requireLogits(context);
        return new CwdModule(this, p, o);
    }

    /** The logits switched on in place: the build did not check them. */
    @Override
    protected void checkInPlace(Options current, Options next, DistillContext context) {
        if (next.logits() && !current.logits()) requireLogits(context);
    }

    /** The teacher's and the student's logits must have the same classes and stride. */
    void requireLogits(DistillContext context) {
        TapSpec teacher = context.teacher().require(TapNames.LOGITS);
        TapSpec student = context.student().require(TapNames.LOGITS);
        if (teacher.channels() != student.channels() || teacher.stride() != student.stride()) {
            throw invalid("logits: teacher " + context.teacher().network() + " " + teacher + " and student " + context.student().network() + " "
                    + student + " must have the same classes and stride");
        }
    }
}
