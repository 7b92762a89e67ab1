package dev.retort.distill.pea;

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
 * PEA, Patch Embedding Alignment (TransKD §4): a per-stage Linear from the student's patch-embedding width to the
 * teacher's, and a weighted MSE against the teacher's patch embedding. Offers the ports {@code pea.input.s}
 * (the student embedding before projection) and {@code pea.output.s} (the projection before the loss), which
 * GL-Mixer and EA refine.
 */
@Component(service = Distiller.class, configurationPid = PeaDistiller.PID, property = Distiller.NAME_PROPERTY + "=" + PeaDistiller.NAME)
@Designate(ocd = PeaDistiller.Config.class)
public class PeaDistiller implements Distiller {
    static final String NAME = "pea";
    static final String PID = "dev.retort.distill.pea";

    @ObjectClassDefinition(name = "Retort PEA (Patch Embedding Alignment)",
            description = "Defaults of the PEA module; a run's module configuration overrides them")
    public @interface Config {
        @AttributeDefinition(description = "Stages distilled (1-based), e.g. 1,2,3,4 or 4")
        String stages() default "1,2,3,4";

        @AttributeDefinition(description = "Loss weight of stages 1..n (the reference: 0.1,0.1,0.5,1.0)")
        String weights() default "0.1,0.1,0.5,1.0";

        @AttributeDefinition(description = "Use this module in runs")
        boolean enabled() default true;
    }

    @Reference(target = "(engine.name=PyTorch)")
    Engine engine;

    /** Keys of a run's {@code module.pea.} section. */
    static final Set<String> RUN_KEYS = Set.of("stages", "weights");
    /** Keys of the ConfigAdmin configuration (the MetaType attributes of {@link Config}). */
    static final Set<String> ADMIN_KEYS = Set.of("stages", "weights", "enabled");

    /** The run keys' defaults before any configuration (the reference's values). */
    private static final Map<String, Object> DEFAULTS = Map.of("stages", "1,2,3,4", "weights", "0.1,0.1,0.5,1.0");

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
            parse(new Settings(PID, d));
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
        parse(Settings.merged(NAME, admin.values().values(), configuration));
    }

    private record Parsed(int[] stages, double[] stageWeights) {}

    /** Stages >= 1, each with a finite weight >= 0. */
    private static Parsed parse(Settings s) {
        int[] stages = s.integers("stages", new int[0]);
        double[] weights = s.reals("weights", new double[0]);
        if (stages.length == 0) throw s.invalid("no stages to distill");
        double[] stageWeights = new double[stages.length];
        for (int i = 0; i < stages.length; i++) {
            int st = stages[i];
            if (st < 1 || st > weights.length) {
                throw s.invalid("stage " + st + " has no weight (weights " + s.raw("weights") + " cover stages 1.."
                        + weights.length + ")");
            }
            if (weights[st - 1] < 0) throw s.error("weights", "a list of numbers >= 0", s.raw("weights"));
            stageWeights[i] = weights[st - 1];
        }
        return new Parsed(stages, stageWeights);
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String description() {
        return "patch-embedding alignment: Linear(C_s -> C_t) + weighted MSE, stages " + admin.values().values().get("stages")
                + ", weights " + admin.values().values().get("weights");
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

    /** The loss weight of each of {@code stages}, from {@code weights} (one per stage 1..n). */
    static double[] stageWeights(Settings s, int[] stages) {
        return parse(s).stageWeights();
    }

    @Override
    public DistillationModule build(DistillContext context) {
        validate(context.config());
        Settings s = Settings.merged(NAME, admin.values().values(), context.config());
        Parsed parsed = parse(s);
        int[] stages = parsed.stages();
        double[] stageWeights = parsed.stageWeights();
        ParameterSet params = new ParameterSet(context.manager(), context.seed());
        for (int i = 0; i < stages.length; i++) {
            int st = stages[i];
            TapSpec student = context.student().require(TapNames.embeds(st));
            TapSpec teacher = context.teacher().require(TapNames.embeds(st));
            if (student.stride() != teacher.stride()) {
                throw s.invalid("stage " + st + ": student " + context.student().network() + " " + student + " and teacher "
                        + context.teacher().network() + " " + teacher + " differ in stride, so their token counts differ");
            }
            // Framework-default Linear init, as the reference.
            params.add(PeaModule.key(st) + ".weight", new Shape(teacher.channels(), student.channels()), Init.pytorchDefault(student.channels()));
            params.add(PeaModule.key(st) + ".bias", new Shape(teacher.channels()), Init.pytorchDefault(student.channels()));
        }
        return new PeaModule(this, params, stages, stageWeights);
    }
}
