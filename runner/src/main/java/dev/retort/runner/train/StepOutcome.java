package dev.retort.runner.train;

import dev.retort.distill.support.ModuleRoster;
import java.util.List;
import java.util.Map;

/** How one optimisation step ended; a skipped step (not {@link Done}) changed no parameter, moment or buffer. */
sealed interface StepOutcome {
    /** The optimizer stepped. */
    record Done(Map<String, Double> terms, Map<String, Double> weights, double value) implements StepOutcome {}

    /**
     * The loss (or, when {@code badGradients} is not empty, a gradient) was NaN or infinite: skipped.
     *
     * @param terms the loss terms as computed ({@code total} NaN when a gradient was bad)
     */
    record NonFinite(Map<String, Double> terms, List<String> badGradients) implements StepOutcome {}

    /** A module threw in its forward: skipped. */
    record ModuleFailed(ModuleRoster.ModuleFailure failure) implements StepOutcome {}
}
