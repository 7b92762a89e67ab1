package dev.retort.distill.glmixer;

import ai.djl.ndarray.types.Shape;
import dev.retort.api.distill.DistillContext;
import dev.retort.api.distill.DistillationModule;
import dev.retort.api.distill.Distiller;
import dev.retort.api.tap.TapNames;
import dev.retort.api.tap.TapSpec;
import dev.retort.distill.support.ConfigValues;
import dev.retort.distill.support.ConfiguredDistiller;
import dev.retort.distill.support.LinearProjection;
import dev.retort.distill.support.Structural;
import dev.retort.nn.Init;
import dev.retort.nn.ParameterSet;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * GL-Mixer (TransKD §5): re-mixes one stage's student patch embedding, α·MHSA(E) + β·GLU1d(E), before PEA
 * projects it. It adds no loss of its own: it refines PEA's port {@code pea.input.s}, so it needs PEA active.
 *
 * <p>The reference leaves α and β uninitialised (whatever memory held); Retort starts both at 0.5 (an equal,
 * convex mix), configurable as {@code alpha} and {@code beta}.
 */
@Component(service = Distiller.class, configurationPid = GlMixerDistiller.PID,
        property = Distiller.NAME_PROPERTY + "=" + GlMixerDistiller.NAME)
@Designate(ocd = GlMixerDistiller.Config.class)
public class GlMixerDistiller extends ConfiguredDistiller<GlMixerDistiller.Options> {
    static final String NAME = "glmixer";
    static final String PID = "dev.retort.distill.glmixer";

    @ObjectClassDefinition(name = "Retort GL-Mixer", description = "Defaults of the GL-Mixer module (TransKD-GL)")
    public @interface Config {
        @AttributeDefinition(description = "Stage whose student embedding is re-mixed (the reference: 4)")
        @Structural("changes the parameters")
        int stage() default 4;

        @AttributeDefinition(description = "Attention heads of the global branch (the reference: 8)")
        @Structural("changes the parameters")
        int heads() default 8;

        @AttributeDefinition(description = "Initial weight α of the global (attention) branch; learnable")
        @Structural(value = "changes the parameters", note = "an initial value")
        double alpha() default 0.5;

        @AttributeDefinition(description = "Initial weight β of the local (GLU conv) branch; learnable")
        @Structural(value = "changes the parameters", note = "an initial value")
        double beta() default 0.5;

        @AttributeDefinition(description = "Add the input embedding back (the reference's --add; released checkpoints: false)")
        boolean residual() default false;

        @AttributeDefinition(description = "Use this module in runs")
        boolean enabled() default true;
    }

    /** What a build reads: stage >= 1, heads >= 1, finite α and β. */
    public record Options(int stage, int heads, double alpha, double beta, boolean residual) {}

    public GlMixerDistiller() {
        super(NAME, PID, Config.class);
    }

    @Override
    protected Options read(ConfigValues v) {
        return new Options(v.integer("stage", 1), v.integer("heads", 1), v.real("alpha"), v.real("beta"), v.bool("residual"));
    }

    @Override
    public String description() {
        Options o = configured();
        return "global-local mixer on the stage-" + o.stage() + " student embedding before PEA (alpha " + o.alpha() + ", beta " + o.beta() + ")";
    }

    @Override
    public DistillationModule build(DistillContext context) {
        Options o = options(context);
        int stage = o.stage(), heads = o.heads();
        TapSpec embed = context.student().require(TapNames.embeds(stage));
        int c = embed.channels();
        if (c % heads != 0) {
            throw invalid("student " + context.student().network() + " " + embed + " has " + c + " channels, not divisible into " + heads + " heads");
        }
        ParameterSet p = new ParameterSet(context.manager(), context.seed());
        String attn = GlMixerModule.attention(stage);
        // Framework-default init (the reference defines a custom init but never applies it).
        LinearProjection.add(p, attn + ".qkv", c, 3 * c, false);
        LinearProjection.add(p, attn + ".proj", c, c, true);
        for (String conv : new String[] {"conv1", "conv2"}) {
            p.add(conv + ".weight", new Shape(c, c, 3), Init.pytorchDefault(3L * c));
            p.add(conv + ".bias", new Shape(c), Init.pytorchDefault(3L * c));
        }
        p.add("atten_weight", new Shape(1), Init.constant((float) o.alpha()));
        p.add("conv_weight", new Shape(1), Init.constant((float) o.beta()));
        return new GlMixerModule(this, p, o);
    }
}
