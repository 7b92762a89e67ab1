package dev.retort.distill.support;

import ai.djl.ndarray.NDArray;
import dev.retort.nn.Ops;

/** Brings an NCHW map to another spatial size, e.g. a student's map to its teacher's, as the PyTorch references do. */
public final class Resize {
    /** How values are resampled. */
    public enum Mode {
        /** PyTorch's legacy nearest ({@code F.interpolate(mode='nearest')}): source index floor(dst·in/out). */
        NEAREST,
        /** {@code F.interpolate(mode='bilinear', align_corners=False)}. */
        BILINEAR,
        /** Adaptive average pooling ({@code F.adaptive_avg_pool2d}): each output is the mean of its PyTorch bin. */
        AREA
    }

    private Resize() {}

    /** {@code map} [B, C, H, W] resampled to [B, C, height, width]. */
    public static NDArray to(NDArray map, long height, long width, Mode mode) {
        if (height < 1 || width < 1) throw new IllegalArgumentException("cannot resize to " + height + "x" + width);
        return switch (mode) {
            case NEAREST -> Ops.resizeNearest(map, height, width);
            case BILINEAR -> Ops.resizeBilinear(map, height, width);
            case AREA -> Ops.adaptiveAvgPool(map, Math.toIntExact(height), Math.toIntExact(width));
        };
    }

    /** {@code map} resampled to the spatial size of {@code reference} (both NCHW). */
    public static NDArray like(NDArray map, NDArray reference, Mode mode) {
        return to(map, reference.getShape().get(2), reference.getShape().get(3), mode);
    }
}
