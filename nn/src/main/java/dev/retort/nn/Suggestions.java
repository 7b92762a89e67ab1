package dev.retort.nn;

import java.util.Collection;
import java.util.TreeSet;

/**
 * Retort's one "did you mean": the known name closest to a misspelt one. Plain Java only, so that the launcher, which
 * reports unknown ConfigAdmin PIDs before the framework runs, uses the same rule as every bundle ({@link Keys}).
 */
public final class Suggestions {
    private Suggestions() {}

    /**
     * The known name closest to {@code name} by edit distance when it is close enough to be a typo, else null: the one
     * rule for every "did you mean" of Retort (run keys, module and backbone names, ConfigAdmin PIDs). Letter case is
     * ignored. Close enough: at most a third of the length of the shorter of the two after their common dot-separated
     * prefix (at least 1), so that dropped, doubled and swapped letters are caught and unrelated words are not, also
     * in long names that share a prefix ({@code dev.retort.distill.cfs} is {@code csf}'s typo, not {@code pea}'s).
     */
    public static String closest(String name, Collection<String> known) {
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String k : new TreeSet<>(known)) {
            int d = distance(name.toLowerCase(), k.toLowerCase());
            if (d < bestDistance) {
                best = k;
                bestDistance = d;
            }
        }
        if (best == null) return null;
        int common = commonSegments(name.toLowerCase(), best.toLowerCase());
        return bestDistance <= Math.max(1, (Math.min(name.length(), best.length()) - common) / 3) ? best : null;
    }

    /** The length of the dot-separated segments {@code a} and {@code b} begin with alike ({@code dev.retort.distill.}). */
    private static int commonSegments(String a, String b) {
        int end = 0;
        for (int i = 0; i < Math.min(a.length(), b.length()) && a.charAt(i) == b.charAt(i); i++) {
            if (a.charAt(i) == '.') end = i + 1;
        }
        return end;
    }

    /** Optimal-string-alignment distance: insertions, deletions, substitutions and adjacent swaps cost 1. */
    public static int distance(String a, String b) {
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
}
