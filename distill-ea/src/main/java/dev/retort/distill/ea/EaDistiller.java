package dev.retort.distill.ea;

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
 * EA, the Embedding Assistant (TransKD §6): per stage a teacher-width patch embedding (conv + LayerNorm) of the
 * student's own stage input, blended into PEA's projection as λ_s·PEA_s(E_s) + μ_s·A_s with learnable scalars.
 * It refines PEA's ports {@code pea.output.s}, so it needs PEA active on the same stages.
 *
 * <p>Kernel and stride follow the student's patch embedding: stride r = the tap strides' ratio, kernel 2r − 1
 * (7/4 for stage 1, 3/2 after), padding k/2, as MiT.
 */
@Component(service = Distiller.class, configurationPid = EaDistiller.PID, property = Distiller.NAME_PROPERTY + "=" + EaDistiller.NAME)
@Designate(ocd = EaDistiller.Config.class)
public class EaDistiller implements Distiller {
    static final String NAME = "ea";
    static final String PID = "dev.retort.distill.ea";

    @ObjectClassDefinition(name = "Retort EA (Embedding Assistant)", description = "Defaults of the EA module (TransKD-EA)")
    public @interface Config {
        @AttributeDefinition(description = "Stages assisted (1-based); PEA must distill them too")
        String stages() default "1,2,3,4";

        @AttributeDefinition(description = "Initial λ_s (weight of PEA's projection) for stages 1..n; learnable")
        String lambdas() default "0.1,0.2,0.3,0.4";

        @AttributeDefinition(description = "Initial μ_s (weight of the assistant) for stages 1..n; learnable")
        String mus() default "0.5,0.6,0.7,0.8";

        @AttributeDefinition(description = "Use this module in runs")
        boolean enabled() default true;
    }

    @Reference(target = "(engine.name=PyTorch)")
    Engine engine;

    /** Keys of a run's {@code module.ea.} section. */
    static final Set<String> RUN_KEYS = Set.of("stages", "lambdas", "mus");
    /** Keys of the ConfigAdmin configuration (the MetaType attributes of {@link Config}). */
    static final Set<String> ADMIN_KEYS = Set.of("stages", "lambdas", "mus", "enabled");

    /** The run keys' defaults before any configuration (the reference's values). */
    private static final Map<String, Object> DEFAULTS = Map.of("stages", "1,2,3,4", "lambdas", "0.1,0.2,0.3,0.4", "mus", "0.5,0.6,0.7,0.8");

    private final ComponentConfiguration<Defaults> admin = new ComponentConfiguration<>(NAME, PID, ADMIN_KEYS,
            new Defaults(DEFAULTS, true), NAME_PROPERTY);

    /**
     * Reads the configuration itself (not through {@link Config}) so that a bad value is reported by
     * {@link #rejection()} instead of failing the component with a stack trace and leaving the defaults in force.
     */
    @Activate
    @Modified
    void configure(Map<String, Object> properties) {
        admin.apply(properties, c -> {
            Map<String, Object> d = c.over(DEFAULTS);
            check(new Settings(PID, d));
            return new Defaults(d, c.bool("enabled", true));
        });
    }

    @Override
    public Optional<String> rejection() {
        return admin.rejection();
    }

    @Override
    public void validate(Map<String, ?> configuration) {
        admin.checkRun(configuration, RUN_KEYS);
        check(Settings.merged(NAME, admin.values().values(), configuration));
    }

    /** Stages >= 1 and finite λ and μ, one of each per stage (the stage count is checked against the student in build). */
    private static void check(Settings s) {
        for (int st : s.integers("stages", new int[0])) if (st < 1) throw s.error("stages", "a list of stages >= 1", s.raw("stages"));
        double[] lambdas = s.reals("lambdas", new double[0]), mus = s.reals("mus", new double[0]);
        if (lambdas.length != mus.length) throw s.invalid("lambdas and mus need as many values, got " + lambdas.length + " and " + mus.length);
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String description() {
        return "embedding assistant: teacher-width patch embeddings blended into PEA (lambda " + admin.values().values().get("lambdas")
                + ", mu " + admin.values().values().get("mus") + ")";
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
        int[] stages = s.integers("stages", new int[0]);
        double[] lambdas = s.reals("lambdas", new double[0]);
        double[] mus = s.reals("mus", new double[0]);
        int n = context.student().stages();
        if (lambdas.length != n || mus.length != n) {
            throw s.invalid("lambdas and mus need one value per student stage (" + n + "), got " + lambdas.length + " and " + mus.length);
        }
        ParameterSet p = new ParameterSet(context.manager(), context.seed());
        int[] kernels = new int[stages.length], strides = new int[stages.length];
        for (int i = 0; i < stages.length; i++) {
            int st = stages[i];
            if (st < 1 || st > n) throw s.invalid("stage " + st + " is not a stage of " + context.student().network());
            TapSpec input = context.student().require(TapNames.inputs(st));
            TapSpec studentEmbed = context.student().require(TapNames.embeds(st));
            TapSpec teacherEmbed = context.teacher().require(TapNames.embeds(st));
            if (studentEmbed.stride() != teacherEmbed.stride() || studentEmbed.stride() % input.stride() != 0) {
                throw s.invalid("stage " + st + ": student " + context.student().network() + " " + input + " -> " + studentEmbed
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
        return new EaModule(this, p, stages, kernels, strides, n, lambdas, mus);
    }
}
