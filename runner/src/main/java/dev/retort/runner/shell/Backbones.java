package dev.retort.runner.shell;

import dev.retort.api.backbone.Backbone;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;
import org.osgi.framework.BundleContext;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;

/** Finds the registered backbone service that builds a variant, at the moment of the call. */
final class Backbones {
    private Backbones() {}

    /** Calls {@code use} with the backbone that builds {@code variant}; empty when none does. */
    static <T> Optional<T> with(BundleContext context, String variant, java.util.function.Function<Backbone, T> use) {
        for (ServiceReference<Backbone> ref : refs(context)) {
            Backbone b = context.getService(ref);
            if (b == null) continue;
            try {
                if (b.variants().contains(variant)) return Optional.ofNullable(use.apply(b));
            } finally {
                context.ungetService(ref);
            }
        }
        return Optional.empty();
    }

    /** Every variant any registered backbone builds, for error messages. */
    static List<String> known(BundleContext context) {
        TreeSet<String> all = new TreeSet<>();
        for (ServiceReference<Backbone> ref : refs(context)) {
            Backbone b = context.getService(ref);
            if (b == null) continue;
            try {
                all.addAll(b.variants());
            } finally {
                context.ungetService(ref);
            }
        }
        return new ArrayList<>(all);
    }

    private static List<ServiceReference<Backbone>> refs(BundleContext context) {
        try {
            return new ArrayList<>(context.getServiceReferences(Backbone.class, null));
        } catch (InvalidSyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static IllegalArgumentException unknown(BundleContext context, String variant) {
        return new IllegalArgumentException("no backbone service builds '" + variant + "' (registered variants: "
                + known(context) + ")");
    }
}
