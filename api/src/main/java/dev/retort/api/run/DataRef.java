package dev.retort.api.run;

import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;

/**
 * The data of a run.
 *
 * @param dataset    dataset name
 * @param root       its root ({@code null} for generated data)
 * @param trainSplit split trained on
 * @param valSplit   split evaluated on
 * @param protocol   augmentation and evaluation protocol
 * @param options    dataset-specific options
 */
public record DataRef(String dataset, Path root, String trainSplit, String valSplit, String protocol, Map<String, ?> options) {
    public DataRef {
        Objects.requireNonNull(dataset, "dataset");
        options = options == null ? Map.of() : Map.copyOf(options);
    }
}
