package dev.retort.distill.support;

import ai.djl.ndarray.NDArray;
import dev.retort.api.distill.DistillStep;
import dev.retort.api.distill.LossTerm;
import dev.retort.nn.ParameterSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/** A built {@link PyramidDistiller} module; its one loss term is {@code <name>.hcl}. */
final class PyramidModule extends ConfiguredModule<PyramidDistiller.Options> {
    private final ReviewPyramid pyramid;
    private final ReviewPyramid.Fusion fusion;

    PyramidModule(PyramidDistiller distiller, ParameterSet params, ReviewPyramid pyramid, ReviewPyramid.Fusion fusion, PyramidDistiller.Options options) {
        super(distiller, params, options);
        this.pyramid = pyramid;
        this.fusion = fusion;
    }

    @Override
    public Optional<Set<String>> teacherTaps() {
        return Optional.of(pyramid.teacherTaps());
    }

    @Override
    public List<LossTerm> forward(DistillStep step) {
        List<NDArray> out = pyramid.forward(step.student(), fusion, step.training(), step::record, name());
        return List.of(new LossTerm(name() + ".hcl", options().weight(), ReviewPyramid.hcl(out, step.teacher())));
    }
}
