package dev.retort.osgi;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.function.Predicate;
import org.osgi.framework.Constants;

/**
 * The services bound to a dynamic, multiple Declarative Services reference, in ranking order: highest
 * {@code service.ranking} first, and among equal rankings the lowest {@code service.id} (the oldest) first — the
 * order {@code ServiceReference.compareTo} defines, reversed. Bind and unbind methods hand their service and
 * properties over; readers see a consistent snapshot without locking.
 *
 * @param <S> the service type
 */
public final class Ranked<S> {
    /** A bound service with the properties it was registered with. */
    public record Entry<S>(S service, Map<String, Object> properties) {
        public Object property(String name) {
            return properties.get(name);
        }
    }

    private record Key(int ranking, long id) implements Comparable<Key> {
        @Override
        public int compareTo(Key o) {
            int c = Integer.compare(o.ranking, ranking);  // higher ranking first
            return c != 0 ? c : Long.compare(id, o.id);  // then older first
        }
    }

    private final ConcurrentSkipListMap<Key, Entry<S>> entries = new ConcurrentSkipListMap<>();

    /** Adds or replaces (on a properties update, whose ranking may have changed) the service with these properties. */
    public void bind(S service, Map<String, Object> properties) {
        long id = id(properties);
        entries.keySet().removeIf(k -> k.id == id);
        entries.put(new Key(ranking(properties), id), new Entry<>(service, Map.copyOf(properties)));
    }

    public void unbind(Map<String, Object> properties) {
        long id = id(properties);
        entries.keySet().removeIf(k -> k.id == id);
    }

    /** Every bound service, best ranked first. */
    public List<Entry<S>> all() {
        return Collections.unmodifiableList(new ArrayList<>(entries.values()));
    }

    /** The best ranked service whose properties match. */
    public Optional<Entry<S>> first(Predicate<Map<String, Object>> properties) {
        return entries.values().stream().filter(e -> properties.test(e.properties())).findFirst();
    }

    /** The best ranked service whose (possibly multi-valued) property {@code name} holds {@code value}. */
    public Optional<S> withProperty(String name, String value) {
        return first(p -> holds(p.get(name), value)).map(Entry::service);
    }

    /** The values of a property over every bound service (each value once, in ranking order). */
    public List<String> values(String name) {
        List<String> out = new ArrayList<>();
        for (Entry<S> e : entries.values()) {
            for (String v : strings(e.property(name))) if (!out.contains(v)) out.add(v);
        }
        return out;
    }

    static boolean holds(Object property, String value) {
        return strings(property).contains(value);
    }

    /** A service property as strings: a single value, an array or a collection. */
    static List<String> strings(Object property) {
        List<String> out = new ArrayList<>();
        if (property instanceof Object[] array) {
            for (Object o : array) out.add(String.valueOf(o));
        } else if (property instanceof Iterable<?> it) {
            it.forEach(o -> out.add(String.valueOf(o)));
        } else if (property != null) {
            out.add(String.valueOf(property));
        }
        return out;
    }

    private static int ranking(Map<String, Object> p) {
        return p.get(Constants.SERVICE_RANKING) instanceof Integer i ? i : 0;  // the framework ignores a non-Integer ranking too
    }

    private static long id(Map<String, Object> p) {
        Object id = p.get(Constants.SERVICE_ID);
        if (!(id instanceof Long l)) throw new IllegalArgumentException("service properties without " + Constants.SERVICE_ID + ": " + p);
        return l;
    }
}
