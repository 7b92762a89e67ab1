package dev.retort.nn;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.IValue;
import ai.djl.pytorch.jni.IValueUtils;
import ai.djl.pytorch.jni.JniUtils;
import java.util.List;

/**
 * Operations over all the parameters of a step in one native call each, as PyTorch's {@code foreach} optimizers run
 * them: the AdamW update ({@code torch._foreach_*}: on a GPU a few multi-tensor kernels for all parameters, on the
 * CPU a loop over them inside libtorch), an all-finite flag over every gradient computed on the device (no host
 * read), per-parameter finite flags for naming offenders, and zeroing the gradients. DJL 0.35.1 names none of these;
 * they run as methods of a TorchScript module written in memory ({@link ScriptModule}), with autograd off.
 *
 * <p>Gradients are read inside the script ({@code p.grad}); the flags and the zeroing pass over a parameter whose
 * gradient is undefined, and {@link #takingPart} finds those an update concerns, as PyTorch's optimizers skip a
 * parameter whose {@code grad} is {@code None}. All tensors of one call must share one
 * device and one floating type (the multi-tensor kernels group by both; Retort's parameters are float32 on one device).
 */
public final class MultiTensor {
    private static final String SOURCE = """
            class MultiTensor(Module):
              __parameters__ = []
              __buffers__ = []
              training : bool
              def forward(self: __torch__.MultiTensor, x: Tensor) -> Tensor:
                return x
              def adamw(self: __torch__.MultiTensor, params: List[Tensor], exp_avgs: List[Tensor], exp_avg_sqs: List[Tensor], steps: List[float], lr: float, beta1: float, beta2: float, weight_decay: float, eps: float) -> int:
                gs = annotate(List[Tensor], [])
                for p in params:
                  gs.append(p.grad)
                step_size = annotate(List[number], [])
                bias_correction2_sqrt = annotate(List[number], [])
                for step in steps:
                  step_size.append(-(lr / (1.0 - beta1 ** step)))
                  bias_correction2_sqrt.append(torch.sqrt(1.0 - beta2 ** step))
                torch._foreach_mul_(params, 1.0 - lr * weight_decay)
                torch._foreach_mul_(exp_avgs, beta1)
                torch._foreach_add_(exp_avgs, gs, alpha=1.0 - beta1)
                torch._foreach_mul_(exp_avg_sqs, beta2)
                torch._foreach_addcmul_(exp_avg_sqs, gs, gs, 1.0 - beta2)
                denom = torch._foreach_sqrt(exp_avg_sqs)
                torch._foreach_div_(denom, bias_correction2_sqrt)
                torch._foreach_add_(denom, eps)
                torch._foreach_addcdiv_(params, exp_avgs, denom, step_size)
                return len(params)
              def step_flags(self: __torch__.MultiTensor, params: List[Tensor], known: List[bool]) -> Tensor:
                gs = annotate(List[Tensor], [])
                flags = annotate(List[Tensor], [])
                for i in range(len(params)):
                  g = params[i].grad
                  if ops.prim.AutogradAnyNonZero(g):
                    gs.append(g)
                    if not known[i]:
                      flags.append(torch.any(torch.ne(g, 0.0)))
                  elif not known[i]:
                    flags.append(torch.zeros([], dtype=11, device=params[0].device))
                if len(gs) == 0:
                  finite = torch.ones([1], dtype=11, device=params[0].device)
                else:
                  finite = torch.reshape(torch.all(torch.isfinite(torch.stack(torch._foreach_norm(gs, float("inf"))))), [1])
                if len(flags) > 0:
                  finite = torch.cat([finite, torch.stack(flags)])
                return torch.to(finite, 6)
              def taking_part(self: __torch__.MultiTensor, params: List[Tensor], known: List[bool], nonzero: List[bool]) -> List[int]:
                found = annotate(List[int], [])
                j = 0
                for i in range(len(params)):
                  defined = ops.prim.AutogradAnyNonZero(params[i].grad)
                  if known[i]:
                    if defined:
                      found.append(i)
                  else:
                    if defined and nonzero[j]:
                      found.append(i)
                    j = j + 1
                return found
              def all_finite(self: __torch__.MultiTensor, params: List[Tensor]) -> Tensor:
                gs = annotate(List[Tensor], [])
                for p in params:
                  g = p.grad
                  if ops.prim.AutogradAnyNonZero(g):
                    gs.append(g)
                if len(gs) == 0:
                  return torch.ones([1], dtype=11, device=params[0].device)
                norms = torch._foreach_norm(gs, float("inf"))
                return torch.reshape(torch.all(torch.isfinite(torch.stack(norms))), [1])
              def finite_each(self: __torch__.MultiTensor, params: List[Tensor]) -> Tensor:
                flags = annotate(List[Tensor], [])
                for p in params:
                  g = p.grad
                  if not ops.prim.AutogradAnyNonZero(g):
                    flags.append(torch.ones([], dtype=11, device=p.device))
                  else:
                    flags.append(torch.all(torch.isfinite(g)))
                return torch.stack(flags)
              def zero_grad(self: __torch__.MultiTensor, params: List[Tensor]) -> int:
                gs = annotate(List[Tensor], [])
                for p in params:
                  g = p.grad
                  if ops.prim.AutogradAnyNonZero(g):
                    gs.append(g)
                if len(gs) > 0:
                  torch._foreach_zero_(gs)
                return len(gs)
            """;

    private static final class Holder {
        static final NDManager CPU = NDManager.newBaseManager(Device.cpu(), "PyTorch");
        static final PtSymbolBlock MODULE = ScriptModule.load(CPU, "MultiTensor", SOURCE);
        /** The graph executor's optimiser is per thread in libtorch; it is switched off once on each calling thread. */
        static final ThreadLocal<Boolean> PLAIN = ThreadLocal.withInitial(() -> {
            JniUtils.setGraphExecutorOptimize(false);
            return true;
        });
    }

    private MultiTensor() {}

    /**
     * One AdamW step of {@code torch.optim.AdamW} over {@code params}, every one of which must have a gradient
     * ({@link #takingPart}), in place: parameters, first and second moments. It is PyTorch's multi-tensor
     * ({@code foreach}) AdamW operation for operation (decoupled decay {@code p·(1 − lr·wd)}, first moment
     * {@code m·β1 + (1 − β1)·g} as mul then add, second {@code v·β2 + (1 − β2)·g²}, bias corrections in double,
     * {@code p − lr/bc1 · m / (√v/√bc2 + eps)}), so that it follows PyTorch's trajectories to float32 rounding; libtorch's
     * fused kernel updates the first moment by {@code lerp}, which drifts from them by several float32 steps where the
     * moment cancels. {@code steps} are the step numbers of this update (1 for a parameter's first), host numbers.
     * The lists are parallel, and the arrays are the very ones updated: TorchScript keeps an in-place update only of
     * tensors it was given (an update of a list the script builds may be dropped as unobservable).
     */
    public static void adamw(List<NDArray> params, List<NDArray> firstMoments, List<NDArray> secondMoments, double[] steps, double lr,
            double beta1, double beta2, double weightDecay, double eps) {
        int n = params.size();
        if (firstMoments.size() != n || secondMoments.size() != n || steps.length != n) {
            throw new IllegalArgumentException("adamw: " + n + " parameters but " + firstMoments.size() + ", " + secondMoments.size() + " and "
                    + steps.length + " moments and steps");
        }
        if (n == 0) return;
        Holder.PLAIN.get();
        try (IValue p = list(params); IValue m = list(firstMoments); IValue v = list(secondMoments); IValue s = IValue.listFrom(steps);
             IValue a = IValue.from(lr); IValue b1 = IValue.from(beta1); IValue b2 = IValue.from(beta2); IValue wd = IValue.from(weightDecay);
             IValue e = IValue.from(eps); IValue out = IValueUtils.runMethod(Holder.MODULE, "adamw", p, m, v, s, a, b1, b2, wd, e)) {
            out.toLong();
        }
    }

    /**
     * The flags a step reads with its loss, as one float32 array on the parameters' device, computed there (nothing is
     * read): element 0 is 1 when every gradient of {@code params} is finite (no NaN, no infinity), 0 otherwise; then, for
     * each parameter without optimizer state ({@code !known[i]}, in order), 1 when its gradient is non-zero somewhere
     * and 0 when it is zero everywhere or undefined. {@link #takingPart(List, boolean[], boolean[])} takes those back.
     */
    public static NDArray stepFlags(List<NDArray> params, boolean[] known, NDManager manager) {
        if (params.size() != known.length) throw new IllegalArgumentException("stepFlags: " + params.size() + " parameters, " + known.length + " flags");
        if (params.isEmpty()) throw new IllegalArgumentException("stepFlags: no parameters");
        Holder.PLAIN.get();
        try (IValue p = list(params); IValue k = IValue.listFrom(known); IValue out = IValueUtils.runMethod(Holder.MODULE, "step_flags", p, k)) {
            return out.toTensor((PtNDManager) manager);
        }
    }

    /**
     * The indices of the arrays of {@code params} that take part in this update, as PyTorch's optimizers decide it: a
     * parameter whose gradient is undefined ({@code grad is None}) never does; one with optimizer state
     * ({@code known[i]}) does; one without state does once its gradient is non-zero somewhere (a gradient that is
     * exactly zero everywhere, from a branch the loss does not use, is PyTorch's None). {@code nonzero} holds, for each
     * parameter without state in order, whether its gradient is non-zero, as {@link #stepFlags} computed it and the
     * step read it: nothing is read here.
     */
    public static long[] takingPart(List<NDArray> params, boolean[] known, boolean[] nonzero) {
        if (params.size() != known.length) throw new IllegalArgumentException("takingPart: " + params.size() + " parameters, " + known.length + " flags");
        int unknown = 0;
        for (boolean k : known) if (!k) unknown++;
        if (nonzero.length != unknown) throw new IllegalArgumentException("takingPart: " + unknown + " parameters without state, " + nonzero.length + " non-zero flags");
        if (params.isEmpty()) return new long[0];
        Holder.PLAIN.get();
        try (IValue p = list(params); IValue k = IValue.listFrom(known); IValue z = IValue.listFrom(nonzero);
             IValue out = IValueUtils.runMethod(Holder.MODULE, "taking_part", p, k, z)) {
            return out.toLongArray();
        }
    }

    /** {@link #takingPart(List, boolean[], boolean[])} with the non-zero flags computed and read here (one read). */
    public static long[] takingPart(List<NDArray> params, boolean[] known) {
        if (params.isEmpty()) return new long[0];
        try (NDManager scratch = params.get(0).getManager().newSubManager(); NDArray flags = stepFlags(params, known, scratch)) {
            float[] read = HostTransfers.floats(flags);
            boolean[] nonzero = new boolean[read.length - 1];
            for (int j = 0; j < nonzero.length; j++) nonzero[j] = read[j + 1] != 0f;
            return takingPart(params, known, nonzero);
        }
    }

    /**
     * A one-element boolean array on the parameters' device: true when every gradient of {@code params} is finite (no
     * NaN, no infinity). Computed on the device; nothing is read to the host.
     */
    public static NDArray allFiniteGradients(List<NDArray> params, NDManager manager) {
        if (params.isEmpty()) throw new IllegalArgumentException("allFiniteGradients: no parameters");
        Holder.PLAIN.get();
        try (IValue p = list(params); IValue out = IValueUtils.runMethod(Holder.MODULE, "all_finite", p)) {
            return out.toTensor((PtNDManager) manager);
        }
    }

    /** One boolean per parameter (true: its gradient is finite or undefined), to name offenders once a flag said there are some. */
    public static NDArray finiteGradients(List<NDArray> params, NDManager manager) {
        if (params.isEmpty()) throw new IllegalArgumentException("finiteGradients: no parameters");
        Holder.PLAIN.get();
        try (IValue p = list(params); IValue out = IValueUtils.runMethod(Holder.MODULE, "finite_each", p)) {
            return out.toTensor((PtNDManager) manager);
        }
    }

    /** Fills every defined gradient of {@code params} with zeros, in place (NaN-safe: a fill, not a product). */
    public static void zeroGradients(List<NDArray> params) {
        if (params.isEmpty()) return;
        Holder.PLAIN.get();
        try (IValue p = list(params); IValue out = IValueUtils.runMethod(Holder.MODULE, "zero_grad", p)) {
            out.toLong();
        }
    }

    private static IValue list(List<NDArray> arrays) {
        return IValue.listFrom(arrays.stream().map(a -> (PtNDArray) a).toArray(PtNDArray[]::new));
    }
}
