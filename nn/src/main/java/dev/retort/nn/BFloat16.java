package dev.retort.nn;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.IValue;
import ai.djl.pytorch.jni.IValueUtils;
import ai.djl.pytorch.jni.JniUtils;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * bfloat16 arithmetic that DJL 0.35.1 cannot name. Its PyTorch JNI maps no DJL type to libtorch's bfloat16 (making or
 * casting one ends the process), and its {@code toType} records no gradient; but it runs TorchScript methods with
 * autograd on, and TorchScript can say {@code torch.to(x, 15)}. So this class writes a small TorchScript module at
 * first use (its source below, loaded from memory by {@link ScriptModule}; no file, no Python) whose methods cast to and from bfloat16 and do
 * the matrix products in bfloat16, and calls them through DJL's public {@code IValueUtils}.
 *
 * <p>Every method takes and gives tensors on their own device (the module holds no tensor). A bfloat16 tensor reads as
 * {@link DataType#UNKNOWN} in DJL: only pass it to operations that keep their input's type (DJL creates nothing in
 * it), and never ask DJL to make an array of its type. The {@code *F32} products take float32, compute in bfloat16
 * with float32 accumulation (libtorch's GEMMs accumulate in float32), and round their result back to float32, which
 * is PyTorch autocast's rule for these operations except that the result returns to float32 at once; gradients flow
 * through the casts to the float32 inputs.
 */
public final class BFloat16 {
    /** libtorch's ScalarType numbers, as TorchScript source writes dtypes. */
    private static final int FLOAT32 = 6, BF16 = 15;

    private static final String SOURCE = """
            class Kernels(Module):
              __parameters__ = []
              __buffers__ = []
              training : bool
              def forward(self: __torch__.Kernels, x: Tensor) -> Tensor:
                return x
              def to_bf16(self: __torch__.Kernels, x: Tensor) -> Tensor:
                return torch.to(x, %1$d)
              def to_f32(self: __torch__.Kernels, x: Tensor) -> Tensor:
                return torch.to(x, %2$d)
              def is_bf16(self: __torch__.Kernels, x: Tensor) -> bool:
                return x.dtype == %1$d
              def linear(self: __torch__.Kernels, x: Tensor, w: Tensor, b: Tensor) -> Tensor:
                y = torch.linear(torch.to(x, %1$d), torch.to(w, %1$d), torch.to(b, %1$d))
                return torch.to(y, %2$d)
              def linear_nobias(self: __torch__.Kernels, x: Tensor, w: Tensor) -> Tensor:
                y = torch.linear(torch.to(x, %1$d), torch.to(w, %1$d))
                return torch.to(y, %2$d)
              def matmul(self: __torch__.Kernels, a: Tensor, b: Tensor) -> Tensor:
                return torch.to(torch.matmul(torch.to(a, %1$d), torch.to(b, %1$d)), %2$d)
              def softmax(self: __torch__.Kernels, x: Tensor, dim: Tensor) -> Tensor:
                return torch.to(torch.softmax(x, int(dim[0]), %2$d), x.dtype)
              def conv2d(self: __torch__.Kernels, x: Tensor, w: Tensor, b: Tensor, cfg: Tensor) -> Tensor:
                s = int(cfg[0])
                p = int(cfg[1])
                g = int(cfg[2])
                y = torch.conv2d(torch.to(x, %1$d), torch.to(w, %1$d), torch.to(b, %1$d), [s, s], [p, p], [1, 1], g)
                return torch.to(y, %2$d)
              def conv2d_nobias(self: __torch__.Kernels, x: Tensor, w: Tensor, cfg: Tensor) -> Tensor:
                s = int(cfg[0])
                p = int(cfg[1])
                g = int(cfg[2])
                y = torch.conv2d(torch.to(x, %1$d), torch.to(w, %1$d), None, [s, s], [p, p], [1, 1], g)
                return torch.to(y, %2$d)
            """.formatted(BF16, FLOAT32);

    /** The module, its selectors and the convolutions' integer arguments live in one CPU manager for the process. */
    private static final class Holder {
        static final NDManager CPU = NDManager.newBaseManager(Device.cpu(), "PyTorch");
        static final PtSymbolBlock MODULE = load();
        static final Map<String, NDArray> SELECTORS = new ConcurrentHashMap<>();
        static final Map<List<Long>, NDArray> INTS = new ConcurrentHashMap<>();
        /** The graph executor's optimiser is per thread in libtorch; it is switched off once on each calling thread. */
        static final ThreadLocal<Boolean> PLAIN = ThreadLocal.withInitial(() -> {
            JniUtils.setGraphExecutorOptimize(false);
            return true;
        });

        private static PtSymbolBlock load() {
            return ScriptModule.load(CPU, "Kernels", SOURCE);
        }
    }

    private BFloat16() {}

    /** A cast of a floating array to bfloat16 (DJL reads its type as UNKNOWN); recorded for autograd like any operation. */
    public static NDArray cast(NDArray x) {
        return call("to_bf16", x);
    }

    /** A cast of a bfloat16 (or any floating) array to float32, recorded for autograd. */
    public static NDArray toFloat32(NDArray x) {
        return call("to_f32", x);
    }

    /** Whether {@code x} is a bfloat16 array (DJL alone cannot tell it from other types it does not know). */
    public static boolean is(NDArray x) {
        if (x.getDataType() != DataType.UNKNOWN) return false;
        // the type is the tensor's metadata: the answer is a TorchScript bool, nothing is read from the device
        Holder.PLAIN.get();
        try (IValue in = IValue.from((PtNDArray) x); IValue out = IValueUtils.runMethod(Holder.MODULE, "is_bf16", in)) {
            return out.toBoolean();
        }
    }

    /** {@code x·wᵀ + b} with its product in bfloat16; float32 in and out. {@code bias} may be null. */
    public static NDArray linearF32(NDArray x, NDArray weight, NDArray bias) {
        return bias == null ? call("linear_nobias", x, weight) : call("linear", x, weight, bias);
    }

    /** {@code a·b} (batched as {@code torch.matmul}) in bfloat16; float32 in and out. */
    public static NDArray matMulF32(NDArray a, NDArray b) {
        return call("matmul", a, b);
    }

    /** A square-kernel 2-D convolution (dilation 1) in bfloat16; float32 in and out. {@code bias} may be null. */
    public static NDArray conv2dF32(NDArray x, NDArray weight, NDArray bias, int stride, int padding, int groups) {
        NDArray args = ints(stride, padding, groups);
        return bias == null ? call("conv2d_nobias", x, weight, args) : call("conv2d", x, weight, bias, args);
    }

    /**
     * Softmax along {@code axis} computed in float32 and given back in {@code x}'s type (for bfloat16 arrays, whose
     * softmax DJL cannot call: it passes the array's type along).
     */
    public static NDArray softmax(NDArray x, int axis) {
        return call("softmax", x, ints(axis));
    }

    /** Integer arguments as a small int64 array kept on the CPU, where the script reads them (a GPU run copies nothing per call). */
    private static NDArray ints(long... values) {
        return Holder.INTS.computeIfAbsent(Arrays.stream(values).boxed().toList(), k -> HostTransfers.upload(Holder.CPU, values, new Shape(values.length)));
    }

    private static NDArray call(String method, NDArray... args) {
        Holder.PLAIN.get();
        NDList in = new NDList(args.length + 1);
        for (NDArray a : args) {
            // IValueUtils reads dotted or bracketed names as dict, list or tuple inputs: hand it an unnamed view instead
            in.add(a.getName() == null ? a : a.reshape(a.getShape()));
        }
        // IValueUtils takes the method's name from an array so named; only the name is read
        in.add(Holder.SELECTORS.computeIfAbsent(method, name -> {
            NDArray selector = HostTransfers.upload(Holder.CPU, new float[] {0f}, new Shape());
            selector.setName("module_method:" + name);
            return selector;
        }));
        return IValueUtils.forward(Holder.MODULE, in, true).singletonOrThrow();
    }

}
