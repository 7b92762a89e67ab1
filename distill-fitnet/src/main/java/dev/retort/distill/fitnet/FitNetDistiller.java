package dev.retort.distill.fitnet;

import ai.djl.ndarray.types.Shape;
import dev.retort.api.distill.DistillContext;
import dev.retort.api.distill.DistillationModule;
import dev.retort.api.distill.Distiller;
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
 * FitNets (Romero et al., "FitNets: Hints for Thin Deep Nets", ICLR 2015): the teacher's stage map is a hint that the
 * student's stage map, mapped to the teacher's width by a regressor, must reproduce under the mean squared error. The
 * regressor is a 1×1 convolution (with bias), or a 1×1 convolution without bias followed by BatchNorm.
 */
@Component(service = Distiller.class, configurationPid = FitNetDistiller.PID, property = Distiller.NAME_PROPERTY + "=" + FitNetDistiller.NAME)
@Designate(ocd = FitNetDistiller.Config.class)
public class FitNetDistiller extends ConfiguredDistiller<FitNetDistiller.Options> {
    static final String NAME = "fitnet";
    static final String PID = "dev.retort.distill.fitnet";

    @ObjectClassDefinition(name = "Retort FitNet", description = "Defaults of the FitNets hint module")
    public @interface Config {
        @AttributeDefinition(description = "Stages whose maps are hints (FitNets guides the middle layer: stage 2 of 4)")
        @Structural("changes the regressors")
        String stages() default "2";

        @AttributeDefinition(description = "Loss weight of each stage's hint MSE")
        double weight() default 1.0;

        @AttributeDefinition(description = "Regressor = 1×1 conv without bias + BatchNorm (else a 1×1 conv with bias, as FitNets)")
        @Structural("changes the regressors")
        boolean batchNorm() default false;

        @AttributeDefinition(description = "Use this module in runs")
        boolean enabled() default true;
    }

    /** What a build reads: distinct stages >= 1, weight >= 0, whether the regressor has BatchNorm. */
    public record Options(int[] stages, double weight, boolean batchNorm) {}

    public FitNetDistiller() {
        super(NAME, PID, Config.class);
    }

    @Override
    protected Options read(ConfigValues v) {
        int[] stages = v.integers("stages");
        if (stages.length == 0) throw v.invalid("no stages to distill");
        for (int s : stages) if (s < 1) throw v.error("stages", "a list of stage numbers >= 1", v.raw("stages"));
        if (Arrays.stream(stages).distinct().count() != stages.length) throw v.error("stages", "a list of distinct stages", v.raw("stages"));
        return new Options(stages, v.real("weight", 0, Double.MAX_VALUE), v.bool("batch_norm"));
    }

    @Override
    public String description() {
        Options o = configured();
        return "FitNets hints: 1×1 conv" + (o.batchNorm() ? " + BN" : "") + " regressor + MSE, stages " + configuredValue("stages") + ", weight " + o.weight();
    }

    @Override
    public DistillationModule build(DistillContext context) {
        Options o = options(context);
        ParameterSet p = new ParameterSet(context.manager(), context.seed());
        for (int st : o.stages()) {
            StagePair pair = StagePair.features(context, NAME, st, "");
            String r = FitNetModule.regressor(st);
            int in = pair.student().channels(), out = pair.teacher().channels();
            // PyTorch's default Conv2d initialisation, as a plain nn.Conv2d regressor gets.
            if (o.batchNorm()) {
                ConvBn.add(p, r, in, out, 1, Init.pytorchDefault(in));
            } else {
                p.add(r + ".0.weight", new Shape(out, in, 1, 1), Init.pytorchDefault(in));
                p.add(r + ".0.bias", new Shape(out), Init.pytorchDefault(in));
            }
        }
        return new FitNetModule(this, p, o);
    }
}
