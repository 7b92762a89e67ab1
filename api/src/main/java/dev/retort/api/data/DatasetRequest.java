package dev.retort.api.data;

import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;

/**
 * What to open.
 *
 * @param root     dataset root on disk (may be {@code null} for generated datasets)
 * @param split    e.g. {@code train}, {@code val}
 * @param protocol e.g. {@code transkd}, {@code standard}
 * @param options  dataset-specific options (image size, condition, …)
 */
public record DatasetRequest(Path root, String split, String protocol, Map<String, ?> options) {
    public DatasetRequest {
        Objects.requireNonNull(split, "split");
        Objects.requireNonNull(protocol, "protocol");
        options = options == null ? Map.of() : Map.copyOf(options);
    }
}
