package dev.retort.api.run;

import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A snapshot of a run.
 *
 * @param state          e.g. {@code RUNNING}, {@code PAUSED}, {@code FINISHED}, {@code FAILED}
 * @param step           steps done
 * @param epoch          current epoch (1-based)
 * @param losses         last step's loss terms by name (unweighted), and {@code total}, in the order the step computed them
 * @param imagesPerSecond recent throughput
 * @param eta            estimated time to finish ({@code null} when unknown or when the run is not running)
 * @param activeModules  names of the active distillation modules
 * @param device         the device trained on
 */
public record RunStatus(String state, long step, int epoch, Map<String, Double> losses, double imagesPerSecond,
                        Duration eta, List<String> activeModules, String device) {
    public RunStatus {
        losses = losses == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(losses));  // keeps the order
        activeModules = activeModules == null ? List.of() : List.copyOf(activeModules);
    }
}
