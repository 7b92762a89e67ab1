package dev.retort.api.run;

import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * A snapshot of a run.
 *
 * @param state          e.g. {@code RUNNING}, {@code PAUSED}, {@code FINISHED}, {@code FAILED}
 * @param step           steps done
 * @param epoch          current epoch (1-based)
 * @param losses         last step's loss terms by name, and {@code total}
 * @param imagesPerSecond recent throughput
 * @param eta            estimated time to finish ({@code null} when unknown)
 * @param activeModules  names of the active distillation modules
 * @param device         the device trained on
 */
public record RunStatus(String state, long step, int epoch, Map<String, Double> losses, double imagesPerSecond,
                        Duration eta, List<String> activeModules, String device) {
    public RunStatus {
        losses = losses == null ? Map.of() : Map.copyOf(losses);
        activeModules = activeModules == null ? List.of() : List.copyOf(activeModules);
    }
}
