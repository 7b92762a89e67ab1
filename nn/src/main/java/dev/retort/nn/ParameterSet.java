package dev.retort.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The parameters and buffers of one network or module, by reference checkpoint name, in creation order.
 * Trainable parameters have gradients attached; buffers (BatchNorm running statistics) do not.
 */
public final class ParameterSet implements AutoCloseable {
    private final NDManager manager;
    private final long seed;
    private final Map<String, Parameter> parameters = new LinkedHashMap<>();

    /** @param manager where arrays are allocated (its device is the network's device) */
    public ParameterSet(NDManager manager, long seed) {
        this.manager = manager;
        this.seed = seed;
    }

    /** Adds a trainable parameter. */
    public NDArray add(String name, Shape shape, Init init) {
        return add(name, shape, init, true, typeOf(name));
    }

    /** Adds a buffer: saved and loaded, never trained. */
    public NDArray buffer(String name, Shape shape, Init init) {
        return add(name, shape, init, false, typeOf(name));
    }

    private NDArray add(String name, Shape shape, Init init, boolean trainable, Parameter.Type type) {
        if (parameters.containsKey(name)) throw new IllegalStateException("duplicate parameter " + name);
        int count = Math.toIntExact(shape.size());
        NDArray array = HostTransfers.upload(manager, init.values(random(name), count), shape);  // once, when the network is built
        Parameter p = Parameter.builder().setName(name).setType(type).optRequiresGrad(trainable).build();
        p.setArray(array);
        if (trainable) array.setRequiresGradient(true);
        parameters.put(name, p);
        return array;
    }

    /** The array of a parameter; a missing name is a programming error. */
    public NDArray get(String name) {
        Parameter p = parameters.get(name);
        if (p == null) throw new IllegalArgumentException("no parameter " + name);
        return p.getArray();
    }

    public boolean contains(String name) {
        return parameters.containsKey(name);
    }

    /** Read-only view, in creation order. */
    public Map<String, Parameter> asMap() {
        return Collections.unmodifiableMap(parameters);
    }

    /** Number of trainable values. */
    public long trainableCount() {
        return parameters.values().stream().filter(Parameter::requiresGradient).mapToLong(p -> p.getArray().size()).sum();
    }

    /** Overwrites a parameter's values in place (shape must match), keeping its identity and gradient. */
    public void assign(String name, float[] values) {
        NDArray a = get(name);
        if (a.size() != values.length) {
            throw new IllegalArgumentException(name + ": " + values.length + " values for shape " + a.getShape());
        }
        HostTransfers.assign(a, values);
    }

    public NDManager manager() {
        return manager;
    }

    private SplittableRandom random(String name) {
        long h = seed * 0x9E3779B97F4A7C15L;
        for (byte b : name.getBytes(StandardCharsets.UTF_8)) h = (h ^ b) * 0x100000001B3L;
        return new SplittableRandom(h);
    }

    private static Parameter.Type typeOf(String name) {
        if (name.endsWith("running_mean")) return Parameter.Type.RUNNING_MEAN;
        if (name.endsWith("running_var")) return Parameter.Type.RUNNING_VAR;
        if (name.endsWith("bias")) return Parameter.Type.BIAS;
        return Parameter.Type.WEIGHT;
    }

    @Override
    public void close() {
        parameters.values().forEach(p -> p.getArray().close());
        parameters.clear();
    }
}
