package dev.retort.distill.csf;

import ai.djl.ndarray.types.Shape;
import dev.retort.api.distill.DistillContext;
import dev.retort.api.distill.DistillationModule;
import dev.retort.api.distill.Distiller;
import dev.retort.api.tap.TapNames;
import dev.retort.api.tap.TapSpec;
import dev.retort.distill.support.ConfigValues;
import dev.retort.distill.support.ConfiguredDistiller;
import dev.retort.distill.support.ConvBn;
import dev.retort.nn.Init;
import dev.retort.nn.ParameterSet;
import org.osgi.service.component.annotations.Component;
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
public class CsfDistiller extends ConfiguredDistiller<CsfDistiller.Options> {
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

    /** What a build reads: weight >= 0, mid_channels >= 1. */
    public record Options(double weight, int midChannels) {}

    public CsfDistiller() {
        super(NAME, PID, Config.class);
    }

    @Override
    protected Options read(ConfigValues v) {
        return new Options(v.real("weight", 0, Double.MAX_VALUE), v.integer("mid_channels", 1));
    }

    @Override
    public String description() {
        Options o = configured();
        return "cross selective fusion + HCL pyramid loss (weight " + o.weight() + ", " + o.midChannels() + " mid channels)";
    }

    @Override
    public DistillationModule build(DistillContext context) {
        Options o = options(context);
        int mid = o.midChannels();
        int hidden = Math.max(mid / 16, 32);
        int n = context.student().stages();
        if (n != context.teacher().stages() || n == 0) {
            throw invalid("student " + context.student().network() + " has " + n + " stages, teacher "
                    + context.teacher().network() + " has " + context.teacher().stages() + "; CSF pairs them stage by stage");
        }
        int[] studentChannels = new int[n], teacherChannels = new int[n];
        for (int st = 1; st <= n; st++) {
            TapSpec student = context.student().require(TapNames.features(st));
            TapSpec teacher = context.teacher().require(TapNames.features(st));
            if (student.stride() != teacher.stride()) {
                throw invalid("stage " + st + ": student " + context.student().network() + " " + student + " and teacher "
                        + context.teacher().network() + " " + teacher + " differ in spatial size");
            }
            studentChannels[st - 1] = student.channels();
            teacherChannels[st - 1] = teacher.channels();
        }
        ParameterSet p = new ParameterSet(context.manager(), context.seed());
        // The reference stores its cells reversed: skfs.0 is the deepest stage's cell.
        for (int cell = 0; cell < n; cell++) {
            int stage = n - cell;
            String c = CsfModule.cell(cell);
            int cs = studentChannels[stage - 1], ct = teacherChannels[stage - 1];
            ConvBn.add(p, c + "conv1", cs, mid, 1, Init.kaimingUniform(1, cs));
            ConvBn.add(p, c + "conv2", mid, ct, 3, Init.kaimingUniform(1, 9L * mid));
            if (stage < n) {
                ConvBn.add(p, c + "fc", mid, hidden, 1, Init.pytorchDefault(mid));
                p.add(c + "fc1.0.weight", new Shape(hidden, mid, 1, 1), Init.pytorchDefault(mid));
                for (int k = 0; k < 2; k++) {
                    p.add(c + "fcs." + k + ".weight", new Shape(mid, hidden, 1, 1), Init.pytorchDefault(hidden));
                    p.add(c + "fcs." + k + ".bias", new Shape(mid), Init.pytorchDefault(hidden));
                }
            }
        }
        return new CsfModule(this, p, n, mid, o.weight());
    }
}
