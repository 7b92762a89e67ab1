package dev.retort.nn;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.engine.StandardCapabilities;
import ai.djl.util.cuda.CudaUtils;
import dev.retort.api.error.RetortConfigException;
import java.util.function.Consumer;

/**
 * The device a run's {@code device} setting names ({@code auto}, {@code cpu}, {@code gpu}, {@code gpu:N}), as
 * Lightning's {@code accelerator="auto"} picks one: a GPU when the engine can use one, else the CPU, and said out loud
 * when a CUDA build of libtorch finds no usable GPU (a user who installed CUDA natives expects the GPU).
 */
public final class Devices {
    private Devices() {}

    /**
     * @param spec {@code auto}, {@code cpu}, {@code gpu} or {@code gpu:N}
     * @param warn where the fallback to the CPU is said
     * @throws RetortConfigException for a GPU that is not there (naming how many there are)
     */
    public static Device resolve(Engine engine, String spec, Consumer<String> warn) {
        if (spec.equals("cpu")) return Device.cpu();
        int gpus = gpuCount(engine);
        if (spec.startsWith("gpu")) {
            int n = spec.contains(":") ? Integer.parseInt(spec.substring(4)) : 0;
            if (n >= gpus) throw new RetortConfigException("device " + spec + ": " + gpus + " GPU(s) found" + (engine.hasCapability(StandardCapabilities.CUDA)
                    ? "" : " (the libtorch in use is a CPU build: see kd:info's natives line)"));
            return Device.gpu(n);
        }
        if (gpus > 0) return Device.gpu(0);
        if (engine.hasCapability(StandardCapabilities.CUDA)) {
            warn.accept("WARNING device auto: the libtorch in use is a CUDA build but no usable GPU was found (" + why()
                    + "); training on the CPU. kd:doctor checks the machine.");
        }
        return Device.cpu();
    }

    /** The GPUs the engine can use; 0 when it cannot tell (DJL's CudaUtils finds CUDA through JNA and may fail). */
    public static int gpuCount(Engine engine) {
        try {
            return engine.getGpuCount();
        } catch (RuntimeException | LinkageError e) {
            return 0;
        }
    }

    /** Why DJL sees no GPU, as far as its CudaUtils can say. */
    private static String why() {
        try {
            return "CUDA runtime " + CudaUtils.getCudaVersionString() + " answers with 0 devices: no GPU, or a driver that refuses (nvidia-smi)";
        } catch (IllegalStateException e) {
            return "DJL found no CUDA runtime library (libcudart) through JNA: put its folder on LD_LIBRARY_PATH";
        } catch (RuntimeException | LinkageError e) {
            return "the CUDA runtime did not answer: " + e.getMessage();
        }
    }
}
