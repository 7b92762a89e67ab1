/**
 * Small functional building blocks for networks and distillation modules written against DJL's NDArray:
 * {@link dev.retort.nn.ParameterSet} (parameters by their reference checkpoint names, in a stable order),
 * {@link dev.retort.nn.Init} (seeded initialisers that reproduce PyTorch's rules) and {@link dev.retort.nn.Ops}
 * (linear, conv, norms, activations, resizing and adaptive pooling, stochastic depth) with the exact semantics of
 * the PyTorch reference (e.g. bilinear with {@code align_corners=false}, BatchNorm momentum 0.1, exact GELU), and
 * {@link dev.retort.nn.Scalars} (array-and-number arithmetic that stays correct under autograd; use it instead of
 * DJL's {@code NDArray} methods that take a {@code Number}); {@link dev.retort.nn.Settings} and
 * {@link dev.retort.nn.Keys} read and check configuration values and keys with messages for the user;
 * {@link dev.retort.nn.CastWeights} lets a frozen network run in another floating-point type;
 * {@link dev.retort.nn.BFloat16} does bfloat16 casts and products that DJL's own API cannot (through TorchScript).
 *
 * <p>2.0: the losses and the component configuration moved to {@code dev.retort.distill.support} (bundle
 * {@code distill-support}); adaptive average pooling is {@link dev.retort.nn.Ops#adaptiveAvgPool}.
 * <p>2.1: {@link dev.retort.nn.CastWeights}; {@code Ops.adaptiveAvgPool} computes in its input's type.
 * <p>2.2: {@link dev.retort.nn.BFloat16}, {@link dev.retort.nn.Scope}; {@code Ops.bf16Products}, {@code Ops.matMul},
 * {@code Ops.isFloating}, {@code Ops.castLike}; {@code CastWeights.to}, {@code CastWeights.toFloat32}; {@code CastWeights}
 * casts to bfloat16.
 * <p>2.3: a bad value or key read through {@link dev.retort.nn.Settings} or {@link dev.retort.nn.Keys} is a
 * {@code dev.retort.api.error.RetortConfigException} (still an {@code IllegalArgumentException}).
 * <p>2.4: {@code Ops.resizeBilinear(x, h, w, alignCorners)}; bilinear resizes that shrink an axis are PyTorch's plain
 * (not antialiased) bilinear; the resizes and the pooling refuse a map that is not NCHW and an empty size.
 * <p>2.5: {@link dev.retort.nn.MultiTensor} (AdamW, finite flags and zeroing over all parameters in one call),
 * {@link dev.retort.nn.Devices} (a run's device setting, with the CPU fallback said), {@link dev.retort.nn.DeviceSync}.
 * <p>2.6: {@link dev.retort.nn.Tolerance}, the fixtures' bar (from {@code kd:parity}, so that every parity test
 * compares through it); {@link dev.retort.nn.Suggestions} is the one "did you mean" (names with a common dotted prefix are
 * measured after it).
 * <p>2.7: {@link dev.retort.nn.HostTransfers}, the one counted route between Java and a device (a guard test keeps the
 * step path on it); {@link dev.retort.nn.DeviceConstants}, matrices made from Java numbers uploaded once per device,
 * type and size; {@code Scalars.lt/eq/neq}; {@code MultiTensor.stepFlags} and {@code MultiTensor.takingPart(params,
 * known, nonzero)}, so that a step reads the optimizer's flags with its loss terms in one copy.
 * <p>2.8: {@link dev.retort.nn.ArrayScope}, the arrays of one forward released when it ends; {@code Ops.attention}, the
 * scaled dot-product attention MiT and PVTv2 share (each score map released once the next exists).
 * <p>2.9: {@code Ops.attention} computes a score map over {@code Ops.ATTENTION_CHUNK_BYTES} that no backward needs
 * over runs of query rows; {@link dev.retort.nn.NativeHeap}, the bound on freed native memory kept between training
 * steps; {@link dev.retort.nn.ByteSizes}, sizes as people write them.
 */
@Version("2.9.0")
@Export
package dev.retort.nn;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
