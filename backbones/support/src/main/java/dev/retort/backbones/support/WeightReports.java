package dev.retort.backbones.support;

import java.util.List;

/** The text of a weight-loading error. */
public final class WeightReports {
    /** Names listed of each kind; a mismatched variant would otherwise list hundreds. */
    static final int LIST_LIMIT = 25;

    private WeightReports() {}

    /** "{@code \n  3 missing:\n    a\n    b\n    c}", at most {@value #LIST_LIMIT} names then "… and N more"; empty for none. */
    public static String list(String what, List<String> names) {
        if (names.isEmpty()) return "";
        StringBuilder b = new StringBuilder("\n  ").append(names.size()).append(' ').append(what).append(':');
        names.stream().limit(LIST_LIMIT).forEach(n -> b.append("\n    ").append(n));
        if (names.size() > LIST_LIMIT) b.append("\n    … and ").append(names.size() - LIST_LIMIT).append(" more");
        return b.toString();
    }
}
