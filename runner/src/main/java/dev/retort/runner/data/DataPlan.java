package dev.retort.runner.data;

import dev.retort.api.data.DatasetRequest;
import dev.retort.api.run.DataRef;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * The data of a run, stated once: the dataset, its root and protocol, the training and validation splits and how
 * each is opened. The training split is augmented unless {@code data.augment} says otherwise, the validation split is
 * not; a checkpoint's evaluation never is. The loop, the evaluation and the teacher-output cache key all read the
 * requests from here, so the key cannot drift from what the loop opens.
 */
public record DataPlan(DataRef data) {
    /** The dataset option that turns augmentation on or off. */
    public static final String AUGMENT = "augment";

    /** The training split as the loop opens it. */
    public DatasetRequest train() {
        return request(data.trainSplit(), true);
    }

    /** The validation split as the loop's evaluations open it. */
    public DatasetRequest validation() {
        return request(data.valSplit(), false);
    }

    /**
     * A split for evaluating a checkpoint ({@code kd:eval}): never augmented.
     *
     * @param own whether the split is of this run's own dataset (its options apply), else of another one
     */
    public DatasetRequest evaluation(Path root, String split, boolean own) {
        Map<String, Object> options = new LinkedHashMap<>(own ? data.options() : Map.of());
        options.put(AUGMENT, false);
        return new DatasetRequest(root, split, data.protocol(), options);
    }

    /** The training split's options as text, sorted by key (what the teacher-output cache key holds). */
    public Map<String, String> trainOptionsText() {
        Map<String, String> text = new TreeMap<>();
        train().options().forEach((k, v) -> text.put(k, String.valueOf(v)));
        return text;
    }

    private DatasetRequest request(String split, boolean augment) {
        Map<String, Object> options = new LinkedHashMap<>(data.options());
        options.putIfAbsent(AUGMENT, augment);
        return new DatasetRequest(data.root(), split, data.protocol(), options);
    }
}
