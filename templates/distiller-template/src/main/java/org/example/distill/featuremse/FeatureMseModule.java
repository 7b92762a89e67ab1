package org.example.distill.featuremse;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import dev.retort.api.distill.DistillContext;
import dev.retort.api.distill.DistillStep;
import dev.retort.api.distill.DistillationModule;
import dev.retort.api.distill.LossTerm;
import dev.retort.api.distill.Reconfiguration;
import dev.retort.api.tap.TapNames;
import dev.retort.api.tap.TapSpec;
import dev.retort.distill.support.Losses;
import dev.retort.nn.Init;
import dev.retort.nn.Ops;
import dev.retort.nn.ParameterSet;
import java.util.List;
import java.util.Map;
import java.util.function.ToDoubleFunction;

/**
 * The built module: {@code MSE(conv1x1(student features.s), teacher features.s)} at the last stage s. The
 * convolution is its only parameter set; the weight of the loss term is its only configuration.
 */
final class FeatureMseModule implements DistillationModule {
    static final String WEIGHT_KEY = "connector.weight";
    static final String BIAS_KEY = "connector.bias";

    private final ParameterSet params;
    private final int stage;
    private final ToDoubleFunction<DistillContext> weightOf;
    private double weight;

    private FeatureMseModule(ParameterSet params, int stage, double weight, ToDoubleFunction<DistillContext> weightOf) {
        this.params = params;
        this.stage = stage;
        this.weight = weight;
        this.weightOf = weightOf;
    }

    /**
     * Checks that the taps fit (every error names both networks) and creates the parameters.
     *
     * @param weightOf reads the loss weight from a context, as a build does (for {@link #reconfigure})
     */
    static FeatureMseModule build(DistillContext context, double weight, ToDoubleFunction<DistillContext> weightOf) {
        int stage = context.student().stages();
        TapSpec student = context.student().require(TapNames.features(stage));
        TapSpec teacher = context.teacher().require(TapNames.features(stage));
        if (teacher.stride() != student.stride()) {
            throw new IllegalArgumentException(FeatureMseDistiller.NAME + ": teacher " + context.teacher().network() + " " + teacher
                    + " and student " + context.student().network() + " " + student + " must have the same stride");
        }
        // Trainable parameters, in the run's manager, each initialised from the run seed and its own name: the same
        // seed gives the same module whatever else the run builds. PyTorch's Conv2d default: U(±1/√fan_in).
        ParameterSet params = new ParameterSet(context.manager(), context.seed());
        int fanIn = student.channels();
        params.add(WEIGHT_KEY, new Shape(teacher.channels(), student.channels(), 1, 1), Init.pytorchDefault(fanIn));
        params.add(BIAS_KEY, new Shape(teacher.channels()), Init.pytorchDefault(fanIn));
        return new FeatureMseModule(params, stage, weight, weightOf);
    }

    @Override
    public String name() {
        return FeatureMseDistiller.NAME;
    }

    /** Checkpoints store them as {@code modules.feature-mse.connector.weight} and {@code ….bias}. */
    @Override
    public Map<String, Parameter> parameters() {
        return params.asMap();
    }

    /** Another module may refine the student's features before the projection (as GL-Mixer does {@code pea.input.4}). */
    @Override
    public List<String> ports() {
        return List.of(port());
    }

    private String port() {
        return FeatureMseDistiller.NAME + ".input." + stage;
    }

    @Override
    public List<LossTerm> forward(DistillStep step) {
        NDArray student = step.refine(port(), step.student().get(TapNames.features(stage)));
        NDArray projected = Ops.conv2d(student, params.get(WEIGHT_KEY), params.get(BIAS_KEY), 1, 0, 1);
        NDArray teacher = step.teacher().get(TapNames.features(stage));
        return List.of(new LossTerm(FeatureMseDistiller.NAME, weight, Losses.mse(projected, teacher)));
    }

    /** The weight is applied in place: the trained convolution and its optimiser state stay. */
    @Override
    public Reconfiguration reconfigure(DistillContext context) {
        double next = weightOf.applyAsDouble(context);
        String changes = next == weight ? "" : "weight " + weight + " -> " + next;
        weight = next;
        return Reconfiguration.applied(changes);
    }

    @Override
    public void close() {
        params.close();
    }
}
