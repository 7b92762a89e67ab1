package dev.retort.nn;

import dev.retort.api.error.RetortConfigException;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Rejects configuration keys nobody reads, so that a misspelt key ({@code bach_size}) is an error with a
 * suggestion instead of a silently ignored line. One rule for run files, ablation files, {@code --set}
 * overrides, per-module sections and component configurations.
 */
public final class Keys {
    private Keys() {}

    /** Prefixes ConfigAdmin, DS and FileInstall add to every configuration; never user keys. */
    private static final List<String> BOOKKEEPING = List.of("service.", "component.", "felix.", "osgi.");

    /** Whether a key is bookkeeping of the OSGi runtime rather than a user's key. */
    public static boolean bookkeeping(String key) {
        return BOOKKEEPING.stream().anyMatch(key::startsWith);
    }

    /**
     * A component's configuration without what the runtime adds: bookkeeping and the component's own service
     * properties (e.g. {@code retort.distiller}), so that what remains is what the user configured.
     */
    public static Map<String, Object> userKeys(Map<String, ?> properties, String... componentProperties) {
        Map<String, Object> m = new TreeMap<>();
        properties.forEach((k, v) -> {
            // <reference>.target and <reference>.cardinality.minimum: Declarative Services' own reference properties
            boolean reference = k.endsWith(".target") || k.endsWith(".cardinality.minimum");
            if (!bookkeeping(k) && !reference && !List.of(componentProperties).contains(k)) m.put(k, v);
        });
        return m;
    }

    /**
     * Throws when a key of {@code given} is neither in {@code known} nor bookkeeping.
     *
     * @param owner  who reads the keys, e.g. {@code run} or {@code module csf}, first in the message
     * @param prefix how the key is written by the user (e.g. {@code module.csf.}), prepended to names in the message
     */
    public static void requireKnown(String owner, String prefix, Collection<String> given, Collection<String> known) {
        Set<String> unknown = new TreeSet<>();
        for (String k : given) if (!known.contains(k) && !bookkeeping(k)) unknown.add(k);
        if (unknown.isEmpty()) return;
        StringBuilder b = new StringBuilder(owner).append(": unknown key");
        if (unknown.size() > 1) b.append('s');
        String sep = " ";
        for (String k : unknown) {
            b.append(sep).append('\'').append(prefix).append(k).append('\'');
            String hint = suggestion(k, known);
            if (hint != null) b.append(" (did you mean ").append(prefix).append(hint).append("?)");
            sep = ", ";
        }
        b.append("; known keys: ");
        Set<String> sorted = new TreeSet<>(known);
        b.append(sorted.isEmpty() ? "none" : String.join(", ", sorted.stream().map(k -> prefix + k).toList()));
        throw new RetortConfigException(b.toString());
    }

    /** The known key closest to {@code key} by edit distance when it is close enough to be a typo, else null. */
    public static String suggestion(String key, Collection<String> known) {
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String k : new TreeSet<>(known)) {
            int d = distance(key.toLowerCase(), k.toLowerCase());
            if (d < bestDistance) {
                best = k;
                bestDistance = d;
            }
        }
        // a third of the length: catches dropped, doubled and swapped letters, not unrelated words
        return best != null && bestDistance <= Math.max(1, Math.min(key.length(), best.length()) / 3) ? best : null;
    }

    /** Optimal-string-alignment distance: insertions, deletions, substitutions and adjacent swaps cost 1. */
    static int distance(String a, String b) {
        int[][] d = new int[a.length() + 1][b.length() + 1];
        for (int i = 0; i <= a.length(); i++) d[i][0] = i;
        for (int j = 0; j <= b.length(); j++) d[0][j] = j;
        for (int i = 1; i <= a.length(); i++) {
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                d[i][j] = Math.min(Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + cost);
                if (i > 1 && j > 1 && a.charAt(i - 1) == b.charAt(j - 2) && a.charAt(i - 2) == b.charAt(j - 1)) {
                    d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
                }
            }
        }
        return d[a.length()][b.length()];
    }

    /**
     * {@code --set} overrides: {@code key=value} pairs separated by commas; a value may hold commas of its own
     * ({@code teacher.depths=3,4,6,3,seed=2}), since a pair starts only where a {@code key=} follows a comma.
     *
     * @throws RetortConfigException for a pair without {@code =} or with an empty key
     */
    public static Map<String, Object> overrides(String set) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (String pair : set.split(",(?=[^,=]+=)")) {
            int eq = pair.indexOf('=');
            if (eq <= 0 || pair.substring(0, eq).isBlank()) {
                throw new RetortConfigException("--set expects key=value pairs separated by commas, got '" + pair + "'");
            }
            m.put(pair.substring(0, eq).strip(), pair.substring(eq + 1).strip());
        }
        return m;
    }
}
