package dev.retort.shell;

import dev.retort.api.backbone.Backbone;
import dev.retort.api.error.RetortConfigException;
import dev.retort.osgi.ServiceLookup;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;
import java.util.function.Function;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceReference;

/** Finds the registered backbone service that builds a variant (by its variants service property), at the moment of the call. */
final class Backbones {
    private Backbones() {}

    /** Calls {@code use} with the best ranked backbone that builds {@code variant}; empty when none does. */
    static <T> Optional<T> with(BundleContext context, String variant, Function<Backbone, T> use) {
        return ServiceLookup.withFirst(context, Backbone.class, ServiceLookup.equalsFilter(Backbone.VARIANTS_PROPERTY, variant), use);
    }

    /** Every variant any registered backbone builds, for error messages (from the service properties: no service is fetched). */
    static List<String> known(BundleContext context) {
        TreeSet<String> all = new TreeSet<>();
        for (ServiceReference<Backbone> ref : ServiceLookup.references(context, Backbone.class, null)) {
            Object v = ref.getProperty(Backbone.VARIANTS_PROPERTY);
            if (v instanceof String[] array) all.addAll(List.of(array));
            else if (v != null) all.add(v.toString());
        }
        return new ArrayList<>(all);
    }

    static IllegalArgumentException unknown(BundleContext context, String variant) {
        return new RetortConfigException("no backbone service builds '" + variant + "' (registered variants: "
                + known(context) + ")");
    }
}
