package dev.retort.api.run;

import java.time.Instant;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * Something a run reports.
 *
 * @param runId   the run
 * @param type    what happened
 * @param step    global step (iterations done) when it happened
 * @param epoch   epoch (1-based) when it happened
 * @param time    wall-clock time
 * @param metrics numbers (loss terms by name, {@code images_per_s}, {@code miou}, …), in the order given (per-class IoU in
 *                the dataset's class order)
 * @param message human-readable detail (e.g. which modules were swapped)
 */
public record RunEvent(String runId, Type type, long step, int epoch, Instant time, Map<String, Double> metrics, String message) {
    /**
     * What happened. {@code PREPARING} and {@code PREPARED} (since 2.1): a module's preparation phase (e.g. MasKD's token
     * learning on the frozen teacher) started (message: the module; metrics: {@code steps}) and ended (metrics:
     * {@code steps}, {@code loss} of the last step, {@code seconds}, {@code cached} 1 when reused from the preparation
     * cache); the module joins the run after it.
     */
    public enum Type { STARTED, STEP, EVALUATION, MODULES_CHANGED, CHECKPOINT, PAUSED, RESUMED, FINISHED, FAILED, PREPARING, PREPARED }

    public RunEvent {
        Objects.requireNonNull(runId, "runId");
        Objects.requireNonNull(type, "type");
        metrics = metrics == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(metrics));  // keeps the order
        message = message == null ? "" : message;
    }
}
