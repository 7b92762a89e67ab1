package dev.retort.distill.csf;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import dev.retort.api.distill.Distiller;
import dev.retort.distill.support.ConvBn;
import dev.retort.distill.support.PyramidDistiller;
import dev.retort.distill.support.ReviewPyramid;
import dev.retort.nn.Init;
import dev.retort.nn.Ops;
import dev.retort.nn.ParameterSet;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * CSF, Cross Selective Fusion, with the HCL pyramid loss (TransKD §3): one cell per stage, evaluated deepest
 * first, fusing each student stage map with the fused map of the deeper stage by a selective-kernel channel
 * attention, then projecting it to the teacher's width; HCL compares each projection with the teacher's stage map.
 * The pyramid, the loss ({@code csf.hcl}) and the options are {@link PyramidDistiller}'s; the fusion is CSF's.
 */
@Component(service = Distiller.class, configurationPid = CsfDistiller.PID, property = Distiller.NAME_PROPERTY + "=" + CsfDistiller.NAME)
@Designate(ocd = CsfDistiller.Config.class)
public class CsfDistiller extends PyramidDistiller {
    static final String NAME = "csf";
    static final String PID = "dev.retort.distill.csf";
    /** The cells' key prefix; cell 0 is the deepest stage's, as the reference stores them. */
    static final String CELLS = "skfs.";

    @ObjectClassDefinition(name = "Retort CSF + HCL", description = "Defaults of the CSF module (feature-map branch of TransKD)")
    public @interface Config {
        @AttributeDefinition(description = "Loss weight of HCL (the reference's --review-kd-loss-weight: 1.0)")
        double weight() default 1.0;

        @AttributeDefinition(description = "Channels of the fused maps (the reference: 64)")
        int midChannels() default 64;

        @AttributeDefinition(description = "Use this module in runs")
        boolean enabled() default true;
    }

    public CsfDistiller() {
        super(NAME, PID, Config.class, CELLS);
    }

    @Override
    protected String method() {
        return "cross selective fusion + HCL pyramid loss";
    }

    /** A selective-kernel channel attention per fused cell. */
    @Override
    protected void addFusion(ParameterSet p, String c, int mid) {
        int hidden = Math.max(mid / 16, 32);
        ConvBn.add(p, c + "fc", mid, hidden, 1, Init.pytorchDefault(mid));
        p.add(c + "fc1.0.weight", new Shape(hidden, mid, 1, 1), Init.pytorchDefault(mid));
        for (int k = 0; k < 2; k++) {
            p.add(c + "fcs." + k + ".weight", new Shape(mid, hidden, 1, 1), Init.pytorchDefault(hidden));
            p.add(c + "fcs." + k + ".bias", new Shape(mid), Init.pytorchDefault(hidden));
        }
    }

    /** Selective-kernel channel attention between a stage's map and the deeper stage's fused map. */
    @Override
    protected ReviewPyramid.Fusion fusion(ParameterSet params) {
        return (c, x, r, training) -> {
            NDArray u = x.add(r);
            long b = u.getShape().get(0), mid = u.getShape().get(1);
            NDArray z = u.reshape(b, mid, -1).mean(new int[] {2}).reshape(b, mid, 1, 1);  // GAP → [B, M, 1, 1]
            if (x.getShape().get(0) > 1) {
                z = Activation.relu(ConvBn.of(params, c + "fc").forward(z, training));
            } else {
                // BatchNorm cannot normalise one 1×1 sample: the reference switches to a BN-free branch.
                z = Activation.relu(Ops.conv2d(z, params.get(c + "fc1.0.weight"), null, 1, 0, 1));
            }
            NDList branches = new NDList();
            for (int k = 0; k < 2; k++) branches.add(Ops.conv2d(z, params.get(c + "fcs." + k + ".weight"), params.get(c + "fcs." + k + ".bias"), 1, 0, 1));
            NDArray attention = NDArrays.stack(branches, 1).softmax(1);  // [B, 2, M, 1, 1], softmax over the two branches
            return x.mul(attention.get(":, 0")).add(r.mul(attention.get(":, 1")));
        };
    }
}
