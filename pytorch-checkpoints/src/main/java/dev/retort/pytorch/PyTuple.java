package dev.retort.pytorch;

import java.util.List;

/**
 * A Python tuple read from a pickle: an immutable list, usable as a dictionary key when its items are.
 *
 * @param items the items, in order
 */
public record PyTuple(List<Object> items) {
    public PyTuple {
        items = java.util.Collections.unmodifiableList(new java.util.ArrayList<>(items));
    }

    public int size() {
        return items.size();
    }

    public Object get(int i) {
        return items.get(i);
    }

    @Override
    public String toString() {
        return "tuple of " + items.size();
    }
}
