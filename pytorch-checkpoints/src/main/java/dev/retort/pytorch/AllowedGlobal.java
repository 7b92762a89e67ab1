package dev.retort.pytorch;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The globals a checkpoint's pickle may name: what {@code torch.load(weights_only=True)} allows that state dicts,
 * training checkpoints and their metadata use. Each is implemented here in Java; nothing a pickle names is ever looked
 * up or run anywhere else. The storage classes ({@link StorageType}) are allowed too, inside persistent ids only.
 */
public enum AllowedGlobal {
    /** A state dict; called with no argument or a list of pairs. */
    ORDERED_DICT("collections.OrderedDict"),
    /** Tensors of PyTorch before 1.0: (storage, offset, size, stride). */
    REBUILD_TENSOR("torch._utils._rebuild_tensor"),
    /** Tensors: (storage, offset, size, stride, requires_grad, backward_hooks[, metadata]). */
    REBUILD_TENSOR_V2("torch._utils._rebuild_tensor_v2"),
    /** Parameters saved as such: (tensor, requires_grad, backward_hooks); read as the tensor. */
    REBUILD_PARAMETER("torch._utils._rebuild_parameter"),
    /** Parameters with Python attributes: (tensor, requires_grad, backward_hooks, state); read as the tensor. */
    REBUILD_PARAMETER_WITH_STATE("torch._utils._rebuild_parameter_with_state"),
    /** Tensors with Python attributes: (rebuild function, type, arguments, state); read as the rebuilt tensor. */
    REBUILD_FROM_TYPE_V2("torch._tensor._rebuild_from_type_v2"),
    /** A type argument of {@link #REBUILD_FROM_TYPE_V2}. */
    TENSOR("torch.Tensor"),
    /** A type argument of {@link #REBUILD_FROM_TYPE_V2}. */
    PARAMETER("torch.nn.parameter.Parameter"),
    /** A tuple of dimensions; read as a tuple. */
    SIZE("torch.Size"),
    /** A device such as {@code cuda:0}; read as its name. */
    DEVICE("torch.device"),
    /** A set, from a list; read as a set. */
    SET("builtins.set"),
    /** How protocol 2 writes Python 3 bytes: (text, 'latin1'); read as the bytes. */
    CODECS_ENCODE("_codecs.encode");

    private static final Map<String, Object> BY_NAME = new LinkedHashMap<>();

    static {
        for (AllowedGlobal g : values()) BY_NAME.put(g.pythonName, g);
        for (StorageType t : StorageType.values()) BY_NAME.put(t.pythonName(), t);
    }

    private final String pythonName;

    AllowedGlobal(String pythonName) {
        this.pythonName = pythonName;
    }

    public String pythonName() {
        return pythonName;
    }

    /**
     * The allowed global named {@code module.name} (an {@link AllowedGlobal} or a {@link StorageType}); null when it is not
     * allowed. Protocol 2 spells the builtins module {@code __builtin__}.
     */
    static Object resolve(String module, String name) {
        String m = module.equals("__builtin__") ? "builtins" : module;
        return BY_NAME.get(m + "." + name);
    }

    /** Every allowed name, for documentation and messages. */
    public static Iterable<String> names() {
        return BY_NAME.keySet();
    }

    @Override
    public String toString() {
        return pythonName;
    }
}
