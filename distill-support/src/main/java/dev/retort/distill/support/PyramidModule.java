package dev.retort.distill.support;

import ai.djl.ndarray.NDArray;
import dev.retort.api.distill.DistillContext;
import dev.retort.api.distill.DistillStep;
import dev.retort.api.distill.LossTerm;
import dev.retort.api.distill.Reconfiguration;
import dev.retort.nn.ParameterSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/** A built {@link PyramidDistiller} module; its one loss term is {@code <name>.hcl}. */
final class PyramidModule extends ParameterModule {
    private final PyramidDistiller distiller;
    private final ReviewPyramid pyramid;
    private final ReviewPyramid.Fusion fusion;
    private final int midChannels;
    private double weight;

    PyramidModule(PyramidDistiller distiller, ParameterSet params, ReviewPyramid pyramid, ReviewPyramid.Fusion fusion, int midChannels,
                  double weight) {
        super(distiller.name(), params);
        this.distiller = distiller;
        this.pyramid = pyramid;
        this.fusion = fusion;
        this.midChannels = midChannels;
        this.weight = weight;
    }

    @Override
    public Optional<Set<String>> teacherTaps() {
        return Optional.of(pyramid.teacherTaps());
    }

    @Override
    public List<LossTerm> forward(DistillStep step) {
        List<NDArray> out = pyramid.forward(step.student(), fusion, step.training(), step::record, name());
        return List.of(new LossTerm(name() + ".hcl", weight, ReviewPyramid.hcl(out, step.teacher())));
    }

    /** {@code weight} is applied in place; {@code mid_channels} changes the parameter shapes. */
    @Override
    public Reconfiguration reconfigure(DistillContext context) {
        PyramidDistiller.Options o = distiller.options(context);
        if (o.midChannels() != midChannels) {
            return Reconfiguration.rebuild("mid_channels " + midChannels + " -> " + o.midChannels() + " changes the parameter shapes");
        }
        String changes = o.weight() == weight ? "" : "weight " + weight + " -> " + o.weight();
        weight = o.weight();
        return Reconfiguration.applied(changes);
    }
}
