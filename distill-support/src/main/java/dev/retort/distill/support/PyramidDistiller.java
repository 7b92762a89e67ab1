package dev.retort.distill.support;

import dev.retort.api.distill.DistillContext;
import dev.retort.api.distill.DistillationModule;
import dev.retort.nn.ParameterSet;
import java.lang.annotation.Annotation;

/**
 * A distiller of the knowledge-review family ({@link ReviewPyramid}): ReviewKD and TransKD's CSF differ only in how a
 * cell fuses its stage's map with the deeper one. A subclass states its component and MetaType annotation (keys
 * {@code weight} and {@code midChannels}), the key prefix of its cells, the parameters of one cell's fusion and the
 * fusion itself; the options, the build, the HCL loss term ({@code <name>.hcl}) and the re-configuration are here.
 */
public abstract class PyramidDistiller extends ConfiguredDistiller<PyramidDistiller.Options> {
    /** What a build reads: weight >= 0, mid_channels >= 1. */
    public record Options(double weight, int midChannels) {}

    private final String cells;

    /**
     * @param cells the cells' key prefix as the reference stores them ({@code skfs.}, {@code abfs.}); cell 0 is the
     *              deepest stage's
     */
    protected PyramidDistiller(String name, String pid, Class<? extends Annotation> metaType, String cells) {
        super(name, pid, metaType);
        this.cells = cells;
    }

    @Override
    protected final Options read(ConfigValues v) {
        return new Options(v.real("weight", 0, Double.MAX_VALUE), v.integer("mid_channels", 1));
    }

    /** What the method does, for {@link #description()} ("cross selective fusion + HCL pyramid loss"). */
    protected abstract String method();

    /** Adds the parameters of cell {@code cell}'s fusion (key prefix {@code cell}, e.g. {@code skfs.1.}) to {@code p}. */
    protected abstract void addFusion(ParameterSet p, String cell, int midChannels);

    /** The fusion of a built module, over its parameters {@code p}. */
    protected abstract ReviewPyramid.Fusion fusion(ParameterSet p);

    @Override
    public final String description() {
        Options o = configured();
        return method() + " (weight " + o.weight() + ", " + o.midChannels() + " mid channels)";
    }

    @Override
    public final DistillationModule build(DistillContext context) {
        Options o = options(context);
        int mid = o.midChannels();
        ReviewPyramid.Widths widths = ReviewPyramid.widths(context, name());
        ParameterSet p = new ParameterSet(context.manager(), context.seed());
        ReviewPyramid pyramid = ReviewPyramid.add(p, cells, widths, mid, (c, stage) -> addFusion(p, c, mid));
        return new PyramidModule(this, p, pyramid, fusion(p), mid, o.weight());
    }
}
