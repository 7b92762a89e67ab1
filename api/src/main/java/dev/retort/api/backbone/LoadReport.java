package dev.retort.api.backbone;

import java.util.List;

/**
 * What loading a weights file did.
 *
 * @param file       the file
 * @param naming     the naming recognised, e.g. {@code reference} or {@code hf}
 * @param loaded     number of tensors loaded
 * @param missing    network parameters the file lacks
 * @param unexpected file tensors the network has no use for
 * @param mismatched tensors whose shape differs ({@code name: file [..] vs network [..]})
 * @param warnings   non-fatal findings (e.g. NaN or infinite values)
 */
public record LoadReport(String file, String naming, int loaded, List<String> missing, List<String> unexpected,
                         List<String> mismatched, List<String> warnings) {
    public LoadReport {
        missing = List.copyOf(missing);
        unexpected = List.copyOf(unexpected);
        mismatched = List.copyOf(mismatched);
        warnings = List.copyOf(warnings);
    }
}
