package dev.retort.api.distill;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Parameter;
import java.util.Map;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * A phase a module must go through before it distils: some of its parameters are trained on the frozen teacher
 * with a loss of their own (MasKD learns its receptive tokens this way), then frozen. The runner runs it when the
 * module joins a run, with its own optimiser (AdamW, the learning rate and step budget given here), on the run's
 * training batches; the module takes part in distillation once it has {@linkplain #finish() finished}. The
 * prepared parameters are saved with the module's, so a resumed run never prepares again.
 *
 * @since 1.2
 */
@ConsumerType
public interface Preparation {
    /** Steps of the phase (at least 1). */
    long steps();

    /** Learning rate of the phase's optimiser. */
    double learningRate();

    /** Weight decay of the phase's optimiser. */
    default double weightDecay() {
        return 0;
    }

    /** The parameters the phase trains (a subset of the module's parameters, by the same keys). */
    Map<String, Parameter> parameters();

    /** The phase's scalar loss for one batch; new arrays belong to the step's manager. */
    NDArray loss(PreparationStep step);

    /**
     * Ends the phase: freezes what it trained (those parameters stay in the module and its checkpoints, but leave the
     * optimiser: {@code requiresGradient()} becomes false).
     */
    void finish();
}
