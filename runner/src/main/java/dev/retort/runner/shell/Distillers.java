package dev.retort.runner.shell;

import dev.retort.api.distill.Distiller;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.osgi.framework.BundleContext;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;

/** Distiller services looked up by name for the length of one command; released on close. */
final class Distillers implements AutoCloseable {
    private final BundleContext context;
    private final List<ServiceReference<Distiller>> held = new ArrayList<>();

    Distillers(BundleContext context) {
        this.context = context;
    }

    /** The registered distiller called {@code name}, if any (highest ranking first). */
    Optional<Distiller> find(String name) {
        try {
            for (ServiceReference<Distiller> ref : context.getServiceReferences(Distiller.class, "(" + Distiller.NAME_PROPERTY + "=" + name + ")")) {
                Distiller d = context.getService(ref);
                if (d != null) {
                    held.add(ref);
                    return Optional.of(d);
                }
            }
            return Optional.empty();
        } catch (InvalidSyntaxException e) {
            throw new IllegalArgumentException("not a distiller name: " + name, e);
        }
    }

    /** Every registered distiller, in service-ranking order. */
    List<Distiller> all() {
        List<Distiller> list = new ArrayList<>();
        try {
            for (ServiceReference<Distiller> ref : context.getServiceReferences(Distiller.class, null)) {
                Distiller d = context.getService(ref);
                if (d != null) {
                    held.add(ref);
                    list.add(d);
                }
            }
        } catch (InvalidSyntaxException e) {
            throw new IllegalStateException(e);
        }
        return list;
    }

    /** What listings add after a distiller's description: whether runs can use it as configured. */
    static String state(Distiller d) {
        if (d.rejection().isPresent()) return "  [configuration rejected: " + d.rejection().get() + "]";
        return d.enabled() ? "" : "  [disabled by configuration]";
    }

    @Override
    public void close() {
        held.forEach(context::ungetService);
        held.clear();
    }
}
