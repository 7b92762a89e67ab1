package dev.retort.api.run;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The result of {@link Runner#evaluate}.
 *
 * @param dataset dataset evaluated
 * @param split   split evaluated
 * @param pixels  pixels counted
 * @param metrics {@code miou}, {@code pixel_accuracy} and {@code iou.<class>} in the dataset's class order
 * @param table   the per-class table, as {@code kd:eval} prints it
 */
public record EvaluationReport(String dataset, String split, long pixels, Map<String, Double> metrics, String table) {
    public EvaluationReport {
        metrics = Collections.unmodifiableMap(new LinkedHashMap<>(metrics));
    }
}
