package dev.retort.distill.support;

import dev.retort.api.distill.Reconfiguration;
import java.lang.reflect.Array;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.RecordComponent;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.function.BiPredicate;
import java.util.stream.Collectors;

/**
 * What a new configuration changes in a built module, read from the options and the distiller's declaration alone:
 * each component of the options record named after a key of the MetaType annotation ({@code midChannels} for
 * {@code mid_channels}), or naming it by {@link Setting}, is compared; a changed key marked {@link Structural} makes a rebuild, any other change is
 * applied in place. Components that no key names (derived values) are not compared.
 *
 * <p>Messages: {@code <key> <old> -> <new>} joined by {@code ", "}; structural keys grouped by what they do, each
 * group ending with its {@link Structural#value()} ({@code stages 2 -> 2,3, batch_norm false -> true changes the
 * regressors}). Values print as the user writes them: numbers as Java prints them ({@code 1.0}), lists comma-separated
 * ({@code 1,2,3,4}; {@code (none)} when empty), enums by their lower-case name.
 */
final class OptionsChange {
    private OptionsChange() {}

    /**
     * @param uses whether a key matters for the given options (a key no options in the comparison use is not compared)
     */
    static <O> Reconfiguration between(ConfigurationSchema schema, O current, O next, BiPredicate<String, O> uses) {
        Map<String, Object> before = byRunKey(schema, current), after = byRunKey(schema, next);
        Map<String, List<String>> rebuilds = new LinkedHashMap<>();
        List<String> applied = new ArrayList<>();
        Map<String, String> shown = shown(current);
        for (String key : before.keySet()) {
            Object a = before.get(key), b = after.get(key);
            if (same(a, b) || !(uses.test(key, current) || uses.test(key, next))) continue;
            String change = shown.getOrDefault(key, key) + " " + format(a) + " -> " + format(b);
            var structural = schema.structural(key);
            if (structural.isPresent()) {
                String note = structural.get().note();
                rebuilds.computeIfAbsent(structural.get().value(), v -> new ArrayList<>()).add(note.isEmpty() ? change : change + " (" + note + ")");
            } else {
                applied.add(change);
            }
        }
        if (!rebuilds.isEmpty()) {
            return Reconfiguration.rebuild(rebuilds.entrySet().stream().map(e -> String.join(", ", e.getValue()) + " " + e.getKey())
                    .collect(Collectors.joining("; ")));
        }
        return Reconfiguration.applied(String.join(", ", applied));
    }

    /** The options' values by run key, in the record's order; options that are not a record are the schema's one key. */
    private static Map<String, Object> byRunKey(ConfigurationSchema schema, Object options) {
        Map<String, Object> values = new LinkedHashMap<>();
        if (!options.getClass().isRecord()) {
            if (schema.runKeys().size() != 1) {
                throw new IllegalStateException(options.getClass().getName() + " is not a record: it cannot hold the keys " + schema.runKeys());
            }
            values.put(schema.runKeys().iterator().next(), options);
            return values;
        }
        for (RecordComponent c : options.getClass().getRecordComponents()) {
            String key = key(c);
            if (!schema.runKeys().contains(key)) continue;
            try {
                c.getAccessor().setAccessible(true);
                values.put(key, c.getAccessor().invoke(options));
            } catch (IllegalAccessException | InvocationTargetException e) {
                throw new IllegalStateException("cannot read " + c, e);
            }
        }
        if (!values.keySet().equals(schema.runKeys())) {
            List<String> missing = new ArrayList<>(schema.runKeys());
            missing.removeAll(values.keySet());
            throw new IllegalStateException(options.getClass().getName() + " has no component for the keys " + missing
                    + ": every key is a component of the options, so that a change of it is seen");
        }
        return values;
    }

    /** The run key a record component stands for: its {@link Setting}'s, else its own name in snake_case. */
    private static String key(RecordComponent c) {
        Setting s = c.getAnnotation(Setting.class);
        return s != null ? s.key() : ConfigurationSchema.snakeCase(c.getName());
    }

    /** Run key → how its change is reported, where a {@link Setting} says. */
    private static Map<String, String> shown(Object options) {
        Map<String, String> m = new LinkedHashMap<>();
        if (!options.getClass().isRecord()) return m;
        for (RecordComponent c : options.getClass().getRecordComponents()) {
            Setting s = c.getAnnotation(Setting.class);
            if (s != null && !s.shown().isEmpty()) m.put(s.key(), s.shown());
        }
        return m;
    }

    private static boolean same(Object a, Object b) {
        if (a != null && b != null && a.getClass().isArray() && b.getClass().isArray()) {
            return Objects.deepEquals(a, b);
        }
        return Objects.equals(a, b);
    }

    static String format(Object value) {
        if (value == null) return "(none)";
        if (value.getClass().isArray()) {
            List<Object> items = new ArrayList<>();
            for (int i = 0; i < Array.getLength(value); i++) items.add(Array.get(value, i));
            return list(items);
        }
        if (value instanceof Collection<?> c) return list(c);
        if (value instanceof Enum<?> e) return e.name().toLowerCase(Locale.ROOT);
        return String.valueOf(value);
    }

    private static String list(Collection<?> items) {
        return items.isEmpty() ? "(none)" : items.stream().map(OptionsChange::format).collect(Collectors.joining(","));
    }
}
