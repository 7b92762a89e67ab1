package dev.retort.datasets;

import java.util.List;

/**
 * One batch in plain arrays: images [B, 3, H, W] and labels [B, h, w], row-major, filled by loader threads.
 *
 * @param index   position in the epoch's batch order
 * @param ids     sample ids
 * @param images  B·3·H·W values
 * @param labels  B·h·w class indices
 */
public record Batch(int index, List<String> ids, int height, int width, float[] images, int labelHeight, int labelWidth, int[] labels) {
    public int size() {
        return ids.size();
    }
}
