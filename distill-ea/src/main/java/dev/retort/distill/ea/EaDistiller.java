package dev.retort.distill.ea;

import ai.djl.ndarray.types.Shape;
import dev.retort.api.distill.DistillContext;
import dev.retort.api.distill.DistillationModule;
import dev.retort.api.distill.Distiller;
import dev.retort.api.tap.TapNames;
import dev.retort.api.tap.TapSpec;
import dev.retort.distill.support.ConfigValues;
import dev.retort.distill.support.ConfiguredDistiller;
import dev.retort.distill.support.Structural;
import dev.retort.nn.Init;
import dev.retort.nn.ParameterSet;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * EA, the Embedding Assistant (TransKD §6): per stage a teacher-width patch embedding (conv + LayerNorm) of the
 * student's own stage input, blended into PEA's projection as λ_s·PEA_s(E_s) + μ_s·A_s with learnable scalars.
 * It refines PEA's ports {@code pea.output.s}, so it needs PEA active on the same stages.
 *
 * <p>Kernel and stride follow the student's patch embedding: stride r = the tap strides' ratio, kernel 2r − 1
 * (7/4 for stage 1, 3/2 after), padding k/2, as MiT.
 */
@Component(service = Distiller.class, configurationPid = EaDistiller.PID, property = Distiller.NAME_PROPERTY + "=" + EaDistiller.NAME)
@Designate(ocd = EaDistiller.Config.class)
public class EaDistiller extends ConfiguredDistiller<EaDistiller.Options> {
    static final String NAME = "ea";
    static final String PID = "dev.retort.distill.ea";

    @ObjectClassDefinition(name = "Retort EA (Embedding Assistant)", description = "Defaults of the EA module (TransKD-EA)")
    public @interface Config {
        @AttributeDefinition(description = "Stages assisted (1-based); PEA must distill them too")
        @Structural("changes the parameters")
        String stages() default "1,2,3,4";

        @AttributeDefinition(description = "Initial λ_s (weight of PEA's projection) for stages 1..n; learnable")
        @Structural(value = "changes the parameters", note = "initial values")
        String lambdas() default "0.1,0.2,0.3,0.4";

        @AttributeDefinition(description = "Initial μ_s (weight of the assistant) for stages 1..n; learnable")
        @Structural(value = "changes the parameters", note = "initial values")
        String mus() default "0.5,0.6,0.7,0.8";

        @AttributeDefinition(description = "Use this module in runs")
        boolean enabled() default true;
    }

    /**
     * What a build reads: stages >= 1 and finite λ and μ, as many of each (the stage count is checked against the
     * student in build).
     */
    public record Options(int[] stages, double[] lambdas, double[] mus) {}

    public EaDistiller() {
        super(NAME, PID, Config.class);
    }

    @Override
    protected Options read(ConfigValues v) {
        int[] stages = v.integers("stages");
        for (int st : stages) if (st < 1) throw v.error("stages", "a list of stages >= 1", v.raw("stages"));
        double[] lambdas = v.reals("lambdas"), mus = v.reals("mus");
        if (lambdas.length != mus.length) throw v.invalid("lambdas and mus need as many values, got " + lambdas.length + " and " + mus.length);
        return new Options(stages, lambdas, mus);
    }

    @Override
    public String description() {
        return "embedding assistant: teacher-width patch embeddings blended into PEA (lambda " + configuredValue("lambdas")
                + ", mu " + configuredValue("mus") + ")";
    }

    @Override
    public DistillationModule build(DistillContext context) {
        Options o = options(context);
        int[] stages = o.stages();
        double[] lambdas = o.lambdas(), mus = o.mus();
        int n = context.student().stages();
        if (lambdas.length != n || mus.length != n) {
            throw invalid("lambdas and mus need one value per student stage (" + n + "), got " + lambdas.length + " and " + mus.length);
        }
        ParameterSet p = new ParameterSet(context.manager(), context.seed());
        int[] kernels = new int[stages.length], strides = new int[stages.length];
        for (int i = 0; i < stages.length; i++) {
            int st = stages[i];
            if (st > n) throw invalid("stage " + st + " is not a stage of " + context.student().network());
            TapSpec input = context.student().require(TapNames.inputs(st));
            TapSpec studentEmbed = context.student().require(TapNames.embeds(st));
            TapSpec teacherEmbed = context.teacher().require(TapNames.embeds(st));
            if (studentEmbed.stride() != teacherEmbed.stride() || studentEmbed.stride() % input.stride() != 0) {
                throw invalid("stage " + st + ": student " + context.student().network() + " " + input + " -> " + studentEmbed
                        + " does not match teacher " + context.teacher().network() + " " + teacherEmbed);
            }
            strides[i] = studentEmbed.stride() / input.stride();
            kernels[i] = 2 * strides[i] - 1;
            int k = kernels[i], ct = teacherEmbed.channels();
            p.add("patch_embed" + st + ".proj.weight", new Shape(ct, input.channels(), k, k), Init.kaimingNormalFanOut((long) k * k * ct));
            p.add("patch_embed" + st + ".proj.bias", new Shape(ct), Init.zeros());
            p.add("patch_embed" + st + ".norm.weight", new Shape(ct), Init.ones());
            p.add("patch_embed" + st + ".norm.bias", new Shape(ct), Init.zeros());
        }
        // PEA's scalars first, then the assistant's: fuse_weights.(s−1) = λ_s, fuse_weights.(n+s−1) = μ_s.
        for (int i = 0; i < n; i++) p.add("fuse_weights." + i, new Shape(1), Init.constant((float) lambdas[i]));
        for (int i = 0; i < n; i++) p.add("fuse_weights." + (n + i), new Shape(1), Init.constant((float) mus[i]));
        return new EaModule(this, p, o, kernels, strides, n);
    }
}
