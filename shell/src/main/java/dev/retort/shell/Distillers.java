package dev.retort.shell;

import dev.retort.api.distill.Distiller;

/** How listings show a distiller's standing. */
final class Distillers {
    private Distillers() {}

    /** What listings add after a distiller's description: whether runs can use it as configured. */
    static String state(Distiller d) {
        if (d.rejection().isPresent()) return "  [configuration rejected: " + d.rejection().get() + "]";
        return d.enabled() ? "" : "  [disabled by configuration]";
    }
}
