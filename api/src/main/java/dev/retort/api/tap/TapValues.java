package dev.retort.api.tap;

import ai.djl.ndarray.NDArray;
import java.util.Map;

/**
 * The tensors of one forward pass, by tap name. The arrays belong to the caller's NDManager scope.
 *
 * @param network name of the network that produced them (used in error messages)
 * @param values  tap name to tensor
 */
public record TapValues(String network, Map<String, NDArray> values) {
    public TapValues {
        values = Map.copyOf(values);
    }

    /** The tensor of this tap; the exception names the network and the taps it does have. */
    public NDArray get(String name) {
        NDArray a = values.get(name);
        if (a == null) {
            throw new IllegalArgumentException(network + " produced no tap '" + name + "' (it has " + values.keySet() + ")");
        }
        return a;
    }
}
