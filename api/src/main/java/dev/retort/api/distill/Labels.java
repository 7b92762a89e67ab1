package dev.retort.api.distill;

import ai.djl.ndarray.NDArray;
import java.util.Objects;

/**
 * The ground truth of a step's batch, for methods whose loss needs it.
 *
 * @param values      label map, {@code B×H×W} of class indices (int64) at the label resolution of the dataset's protocol
 * @param ignoreClass the label value of ignored pixels (as the dataset's {@code DatasetInfo} states it)
 * @param classes     number of evaluated classes (values {@code 0 … classes-1}, plus {@code ignoreClass})
 * @since 1.2
 */
public record Labels(NDArray values, int ignoreClass, int classes) {
    public Labels {
        Objects.requireNonNull(values, "values");
        if (values.getShape().dimension() != 3) throw new IllegalArgumentException("labels must be B×H×W, got " + values.getShape());
        if (classes < 1) throw new IllegalArgumentException("classes must be >= 1, got " + classes);
    }
}
