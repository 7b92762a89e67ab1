package dev.retort.api.run;

import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * A snapshot of a run.
 *
 * @param state           where the run stands
 * @param step            steps done
 * @param totalSteps      steps the run takes in all (0 until its data is open)
 * @param epoch           current epoch (1-based)
 * @param losses          last step's loss terms by name (unweighted), and {@code total}, in the order the step computed them
 * @param lossWeights     the weight of each loss term of the last step ({@code ce} is 1)
 * @param imagesPerSecond recent throughput
 * @param elapsed         wall time since the run started (up to its end once it ended)
 * @param eta             estimated time to finish ({@code null} when unknown or when the run is not running)
 * @param activeModules   names of the active distillation modules
 * @param disabledModules modules left out by {@code kd:disable} (kept with their state)
 * @param device          the device trained on
 * @param preparing       modules in their preparation phase now (since 2.1; the run's steps wait meanwhile)
 */
public record RunStatus(RunState state, long step, long totalSteps, int epoch, Map<String, Double> losses, Map<String, Double> lossWeights,
                        double imagesPerSecond, Duration elapsed, Duration eta, List<String> activeModules, Set<String> disabledModules,
                        String device, List<Preparing> preparing) {
    /**
     * A module in its preparation phase.
     *
     * @param module the module
     * @param step   preparation steps done
     * @param steps  preparation steps in all
     * @param loss   the last preparation step's loss (NaN before the first)
     * @since 2.1
     */
    public record Preparing(String module, long step, long steps, double loss) {
        public Preparing {
            Objects.requireNonNull(module, "module");
        }
    }

    /** A status without preparing modules (the 2.0 constructor). */
    public RunStatus(RunState state, long step, long totalSteps, int epoch, Map<String, Double> losses, Map<String, Double> lossWeights,
                     double imagesPerSecond, Duration elapsed, Duration eta, List<String> activeModules, Set<String> disabledModules, String device) {
        this(state, step, totalSteps, epoch, losses, lossWeights, imagesPerSecond, elapsed, eta, activeModules, disabledModules, device, List.of());
    }

    public RunStatus {
        Objects.requireNonNull(state, "state");
        losses = losses == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(losses));  // keeps the order
        lossWeights = lossWeights == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(lossWeights));
        elapsed = elapsed == null ? Duration.ZERO : elapsed;
        activeModules = activeModules == null ? List.of() : List.copyOf(activeModules);
        disabledModules = disabledModules == null ? Set.of() : Set.copyOf(disabledModules);
        preparing = preparing == null ? List.of() : List.copyOf(preparing);
    }
}
