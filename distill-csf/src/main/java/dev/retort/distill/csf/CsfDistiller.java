package dev.retort.distill.csf;

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
 * CSF, Cross Selective Fusion, with the HCL pyramid loss (TransKD §3): one cell per stage, evaluated deepest
 * first, fusing each student stage map with the fused map of the deeper stage by a selective-kernel channel
 * attention, then projecting it to the teacher's width; HCL compares each projection with the teacher's stage map.
 */
@Component(service = Distiller.class, configurationPid = CsfDistiller.PID, property = Distiller.NAME_PROPERTY + "=" + CsfDistiller.NAME)
@Designate(ocd = CsfDistiller.Config.class)
public class CsfDistiller implements Distiller {
    static final String NAME = "csf";
    static final String PID = "dev.retort.distill.csf";

    @ObjectClassDefinition(name = "Retort CSF + HCL", description = "Defaults of the CSF module (feature-map branch of TransKD)")
    public @interface Config {
        @AttributeDefinition(description = "Loss weight of HCL (the reference's --review-kd-loss-weight: 1.0)")
        double weight() default 1.0;

        @AttributeDefinition(description = "Channels of the fused maps (the reference: 64)")
        int midChannels() default 64;

        @AttributeDefinition(description = "Use this module in runs")
        boolean enabled() default true;
    }

    @Reference(target = "(engine.name=PyTorch)")
    Engine engine;

    /** Keys of a run's {@code module.csf.} section. */
    static final Set<String> RUN_KEYS = Set.of("weight", "mid_channels");
    /** Keys of the ConfigAdmin configuration (the MetaType attributes of {@link Config}). */
    static final Set<String> ADMIN_KEYS = Set.of("weight", "midChannels", "enabled");

    private final ComponentConfiguration<Defaults> admin = new ComponentConfiguration<>(NAME, PID, ADMIN_KEYS,
            new Defaults(Map.of("weight", 1.0, "mid_channels", 64), true), NAME_PROPERTY);

    /**
     * Reads the configuration itself (not through {@link Config}) so that a bad value is reported by
     * {@link #rejection()} instead of failing the component with a stack trace and leaving the defaults in force.
     */
    @Activate
    @Modified
    void configure(Map<String, Object> properties) {
        admin.apply(properties, c -> new Defaults(Map.of("weight", c.real("weight", 1.0, 0, Double.MAX_VALUE), "mid_channels", c.integer("midChannels", 64, 1)),
                c.bool("enabled", true)));
    }

    @Override
    public Optional<String> rejection() {
        return admin.rejection();
    }

    @Override
    public void validate(Map<String, ?> configuration) {
        admin.checkRun(configuration, RUN_KEYS);
        settings(configuration);
    }

    /** The run's values over the configured defaults, checked: weight >= 0, mid_channels >= 1. */
    private Settings settings(Map<String, ?> configuration) {
        Settings s = Settings.merged(NAME, admin.values().values(), configuration);
        s.real("weight", 1.0, 0, Double.MAX_VALUE);
        s.integer("mid_channels", 64, 1);
        return s;
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String description() {
        return "cross selective fusion + HCL pyramid loss (weight " + admin.values().values().get("weight") + ", " + admin.values().values().get("mid_channels")
                + " mid channels)";
    }

    @Override
    public boolean enabled() {
        return admin.values().enabled();
    }

    /** This distiller's current defaults under a run's module section, checked, as a build reads them. */
    Settings settings(DistillContext context) {
        validate(context.config());
        return settings(context.config());
    }

    @Override
    public DistillationModule build(DistillContext context) {
        validate(context.config());
        Settings s = settings(context.config());
        int mid = s.integer("mid_channels", 64, 1);
        int hidden = Math.max(mid / 16, 32);
        int n = context.student().stages();
        if (n != context.teacher().stages() || n == 0) {
            throw s.invalid("student " + context.student().network() + " has " + n + " stages, teacher "
                    + context.teacher().network() + " has " + context.teacher().stages() + "; CSF pairs them stage by stage");
        }
        int[] studentChannels = new int[n], teacherChannels = new int[n];
        for (int st = 1; st <= n; st++) {
            TapSpec student = context.student().require(TapNames.features(st));
            TapSpec teacher = context.teacher().require(TapNames.features(st));
            if (student.stride() != teacher.stride()) {
                throw s.invalid("stage " + st + ": student " + context.student().network() + " " + student + " and teacher "
                        + context.teacher().network() + " " + teacher + " differ in spatial size");
            }
            studentChannels[st - 1] = student.channels();
            teacherChannels[st - 1] = teacher.channels();
        }
        ParameterSet p = new ParameterSet(context.manager(), context.seed());
        // The reference stores its cells reversed: skfs.0 is the deepest stage's cell.
        for (int cell = 0; cell < n; cell++) {
            int stage = n - cell;
            String c = "skfs." + cell + ".";
            int cs = studentChannels[stage - 1], ct = teacherChannels[stage - 1];
            p.add(c + "conv1.0.weight", new Shape(mid, cs, 1, 1), Init.kaimingUniform(1, cs));
            batchNorm(p, c + "conv1.1", mid);
            p.add(c + "conv2.0.weight", new Shape(ct, mid, 3, 3), Init.kaimingUniform(1, 9L * mid));
            batchNorm(p, c + "conv2.1", ct);
            if (stage < n) {
                p.add(c + "fc.0.weight", new Shape(hidden, mid, 1, 1), Init.pytorchDefault(mid));
                batchNorm(p, c + "fc.1", hidden);
                p.add(c + "fc1.0.weight", new Shape(hidden, mid, 1, 1), Init.pytorchDefault(mid));
                for (int k = 0; k < 2; k++) {
                    p.add(c + "fcs." + k + ".weight", new Shape(mid, hidden, 1, 1), Init.pytorchDefault(hidden));
                    p.add(c + "fcs." + k + ".bias", new Shape(mid), Init.pytorchDefault(hidden));
                }
            }
        }
        return new CsfModule(this, p, n, mid, s.real("weight", 1.0));
    }

    private static void batchNorm(ParameterSet p, String prefix, int channels) {
        p.add(prefix + ".weight", new Shape(channels), Init.ones());
        p.add(prefix + ".bias", new Shape(channels), Init.zeros());
        p.buffer(prefix + ".running_mean", new Shape(channels), Init.zeros());
        p.buffer(prefix + ".running_var", new Shape(channels), Init.ones());
    }
}
