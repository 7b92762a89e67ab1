package dev.retort.osgi;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;
import org.osgi.framework.BundleContext;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;

/**
 * One-shot service use from code that is not a component with references: finds services by filter in ranking order
 * (best first, as {@link Ranked}), hands each to a function and releases it again whatever the function does.
 */
public final class ServiceLookup {
    private ServiceLookup() {}

    /** References matching {@code filter} (null: all), best ranked first. */
    public static <S> List<ServiceReference<S>> references(BundleContext context, Class<S> type, String filter) {
        Collection<ServiceReference<S>> refs;
        try {
            refs = context.getServiceReferences(type, filter);
        } catch (InvalidSyntaxException e) {
            throw new IllegalArgumentException("bad service filter " + filter + ": " + e.getMessage(), e);
        }
        List<ServiceReference<S>> list = new ArrayList<>(refs);
        list.sort(Collections.reverseOrder());  // ServiceReference.compareTo: lower ranking (then newer) is "less"
        return list;
    }

    /** Applies {@code use} to the best ranked service matching {@code filter}; empty when there is none. */
    public static <S, R> Optional<R> withFirst(BundleContext context, Class<S> type, String filter, Function<S, R> use) {
        for (ServiceReference<S> ref : references(context, type, filter)) {
            S service = context.getService(ref);
            if (service == null) continue;  // went away meanwhile
            try {
                return Optional.ofNullable(use.apply(service));
            } finally {
                context.ungetService(ref);
            }
        }
        return Optional.empty();
    }

    /** Applies {@code use} to every service matching {@code filter}, best ranked first, and collects the results. */
    public static <S, R> List<R> withEach(BundleContext context, Class<S> type, String filter, Function<S, R> use) {
        List<R> out = new ArrayList<>();
        for (ServiceReference<S> ref : references(context, type, filter)) {
            S service = context.getService(ref);
            if (service == null) continue;
            try {
                out.add(use.apply(service));
            } finally {
                context.ungetService(ref);
            }
        }
        return out;
    }

    /** An LDAP filter matching a property value, with the filter's special characters escaped. */
    public static String equalsFilter(String property, String value) {
        StringBuilder b = new StringBuilder("(").append(property).append('=');
        for (char c : value.toCharArray()) {
            if (c == '\\' || c == '*' || c == '(' || c == ')') b.append('\\');
            b.append(c);
        }
        return b.append(')').toString();
    }
}
