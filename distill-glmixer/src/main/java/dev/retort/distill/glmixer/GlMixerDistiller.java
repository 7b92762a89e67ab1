package dev.retort.distill.glmixer;

import ai.djl.engine.Engine;
import ai.djl.ndarray.types.Shape;
import dev.retort.api.distill.DistillContext;
import dev.retort.api.distill.DistillationModule;
import dev.retort.api.distill.Distiller;
import dev.retort.api.tap.TapNames;
import dev.retort.api.tap.TapSpec;
import dev.retort.nn.Init;
import dev.retort.nn.ParameterSet;
import dev.retort.nn.ComponentConfiguration;
import dev.retort.nn.ComponentConfiguration.Defaults;
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
 * GL-Mixer (TransKD §5): re-mixes one stage's student patch embedding, α·MHSA(E) + β·GLU1d(E), before PEA
 * projects it. It adds no loss of its own: it refines PEA's port {@code pea.input.s}, so it needs PEA active.
 *
 * <p>The reference leaves α and β uninitialised (whatever memory held); Retort starts both at 0.5 (an equal,
 * convex mix), configurable as {@code alpha} and {@code beta}.
 */
@Component(service = Distiller.class, configurationPid = GlMixerDistiller.PID,
        property = Distiller.NAME_PROPERTY + "=" + GlMixerDistiller.NAME)
@Designate(ocd = GlMixerDistiller.Config.class)
public class GlMixerDistiller implements Distiller {
    static final String NAME = "glmixer";
    static final String PID = "dev.retort.distill.glmixer";

    @ObjectClassDefinition(name = "Retort GL-Mixer", description = "Defaults of the GL-Mixer module (TransKD-GL)")
    public @interface Config {
        @AttributeDefinition(description = "Stage whose student embedding is re-mixed (the reference: 4)")
        int stage() default 4;

        @AttributeDefinition(description = "Attention heads of the global branch (the reference: 8)")
        int heads() default 8;

        @AttributeDefinition(description = "Initial weight α of the global (attention) branch; learnable")
        double alpha() default 0.5;

        @AttributeDefinition(description = "Initial weight β of the local (GLU conv) branch; learnable")
        double beta() default 0.5;

        @AttributeDefinition(description = "Add the input embedding back (the reference's --add; released checkpoints: false)")
        boolean residual() default false;

        @AttributeDefinition(description = "Use this module in runs")
        boolean enabled() default true;
    }

    @Reference(target = "(engine.name=PyTorch)")
    Engine engine;

    /** Keys of a run's {@code module.glmixer.} section. */
    static final Set<String> RUN_KEYS = Set.of("stage", "heads", "alpha", "beta", "residual");
    /** Keys of the ConfigAdmin configuration (the MetaType attributes of {@link Config}). */
    static final Set<String> ADMIN_KEYS = Set.of("stage", "heads", "alpha", "beta", "residual", "enabled");

    private final ComponentConfiguration<Defaults> admin = new ComponentConfiguration<>(NAME, PID, ADMIN_KEYS,
            new Defaults(Map.of("stage", 4, "heads", 8, "alpha", 0.5, "beta", 0.5, "residual", false), true), NAME_PROPERTY);

    /**
     * Reads the configuration itself (not through {@link Config}) so that a bad value is reported by
     * {@link #rejection()} instead of failing the component with a stack trace and leaving the defaults in force.
     */
    @Activate
    @Modified
    void configure(Map<String, Object> properties) {
        admin.apply(properties, c -> new Defaults(Map.of("stage", c.integer("stage", 4, 1), "heads", c.integer("heads", 8, 1), "alpha", c.real("alpha", 0.5),
                "beta", c.real("beta", 0.5), "residual", c.bool("residual", false)), c.bool("enabled", true)));
    }

    @Override
    public Optional<String> rejection() {
        return admin.rejection();
    }

    @Override
    public void validate(Map<String, ?> configuration) {
        admin.checkRun(configuration, RUN_KEYS);
        Settings s = Settings.merged(NAME, admin.values().values(), configuration);
        s.integer("stage", 4, 1);
        s.integer("heads", 8, 1);
        s.real("alpha", 0.5);
        s.real("beta", 0.5);
        s.bool("residual", false);
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String description() {
        return "global-local mixer on the stage-" + admin.values().values().get("stage") + " student embedding before PEA (alpha "
                + admin.values().values().get("alpha") + ", beta " + admin.values().values().get("beta") + ")";
    }

    @Override
    public boolean enabled() {
        return admin.values().enabled();
    }

    /** This distiller's current defaults under a run's module section, checked, as a build reads them. */
    Settings settings(DistillContext context) {
        validate(context.config());
        return Settings.merged(NAME, admin.values().values(), context.config());
    }

    @Override
    public DistillationModule build(DistillContext context) {
        validate(context.config());
        Settings s = Settings.merged(NAME, admin.values().values(), context.config());
        int stage = s.integer("stage", 4), heads = s.integer("heads", 8);
        TapSpec embed = context.student().require(TapNames.embeds(stage));
        int c = embed.channels();
        if (heads <= 0 || c % heads != 0) {
            throw s.invalid("student " + context.student().network() + " " + embed + " has " + c
                    + " channels, not divisible into " + heads + " heads");
        }
        ParameterSet p = new ParameterSet(context.manager(), context.seed());
        String attn = "attn" + stage;
        // Framework-default init (the reference defines a custom init but never applies it).
        p.add(attn + ".qkv.weight", new Shape(3L * c, c), Init.pytorchDefault(c));
        p.add(attn + ".proj.weight", new Shape(c, c), Init.pytorchDefault(c));
        p.add(attn + ".proj.bias", new Shape(c), Init.pytorchDefault(c));
        for (String conv : new String[] {"conv1", "conv2"}) {
            p.add(conv + ".weight", new Shape(c, c, 3), Init.pytorchDefault(3L * c));
            p.add(conv + ".bias", new Shape(c), Init.pytorchDefault(3L * c));
        }
        p.add("atten_weight", new Shape(1), Init.constant((float) s.real("alpha", 0.5)));
        p.add("conv_weight", new Shape(1), Init.constant((float) s.real("beta", 0.5)));
        return new GlMixerModule(this, p, stage, heads, s.bool("residual", false), s.real("alpha", 0.5), s.real("beta", 0.5));
    }
}
