package dev.retort.api.tap;

import java.util.List;
import java.util.Optional;

/**
 * All taps of one network, known before any tensor flows.
 *
 * @param network a human-readable name of the network these taps belong to (used in error messages)
 * @param stages  number of encoder stages
 * @param taps    every tap, in a stable order
 */
public record TapLayout(String network, int stages, List<TapSpec> taps) {
    public TapLayout {
        taps = List.copyOf(taps);
        if (stages < 0) throw new IllegalArgumentException("stages must be >= 0, got " + stages);
        long distinct = taps.stream().map(TapSpec::name).distinct().count();
        if (distinct != taps.size()) throw new IllegalArgumentException(network + ": duplicate tap names in " + taps);
    }

    /** The tap with this name, if any. */
    public Optional<TapSpec> find(String name) {
        return taps.stream().filter(t -> t.name().equals(name)).findFirst();
    }

    /** The tap with this name; the exception names the network and the taps it does have. */
    public TapSpec require(String name) {
        return find(name).orElseThrow(() -> new IllegalArgumentException(
                network + " has no tap '" + name + "' (it has " + taps.stream().map(TapSpec::name).toList() + ")"));
    }
}
