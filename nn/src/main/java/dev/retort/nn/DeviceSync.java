package dev.retort.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;

/**
 * Waits until a device has done the work queued on it, as {@code torch.cuda.synchronize()} does for PyTorch's timers:
 * a GPU runs kernels asynchronously, so a wall clock read after enqueueing measures the enqueueing, not the work. DJL
 * 0.35.1 names no synchronisation; reading one element of an array of that device to the host waits for everything
 * queued before it on the stream (DJL runs every operation on the device's default stream). On the CPU, where every
 * operation has finished when it returns, it does nothing.
 */
public final class DeviceSync {
    private DeviceSync() {}

    /** Returns once the work queued on {@code onDevice}'s device (before this call) is done; at once on the CPU. */
    public static void await(NDArray onDevice) {
        if (onDevice == null || !onDevice.getDevice().isGpu() || onDevice.size() == 0) return;
        try (NDArray flat = onDevice.reshape(-1); NDArray first = flat.get(0)) {
            if (first.getDataType() == DataType.UNKNOWN) {  // bfloat16: DJL cannot read it
                try (NDArray f = BFloat16.toFloat32(first)) {
                    HostTransfers.await(f);
                }
            } else {
                HostTransfers.await(first);
            }
        }
    }
}
