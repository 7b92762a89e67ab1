package dev.retort.osgi;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceReference;

/**
 * Services used for the length of one piece of work (a command, a parity check) whose results hold on to them: each
 * found service stays got until {@link #close()} releases them all.
 *
 * @param <S> the service type
 */
public final class HeldServices<S> implements AutoCloseable {
    private final BundleContext context;
    private final Class<S> type;
    private final List<ServiceReference<S>> held = new ArrayList<>();

    public HeldServices(BundleContext context, Class<S> type) {
        this.context = context;
        this.type = type;
    }

    /** The best ranked service matching {@code filter}, held until close. */
    public Optional<S> first(String filter) {
        for (ServiceReference<S> ref : ServiceLookup.references(context, type, filter)) {
            S service = context.getService(ref);
            if (service != null) {
                held.add(ref);
                return Optional.of(service);
            }
        }
        return Optional.empty();
    }

    /** Every service matching {@code filter} (null: all), best ranked first, held until close. */
    public List<S> all(String filter) {
        List<S> list = new ArrayList<>();
        for (ServiceReference<S> ref : ServiceLookup.references(context, type, filter)) {
            S service = context.getService(ref);
            if (service != null) {
                held.add(ref);
                list.add(service);
            }
        }
        return list;
    }

    @Override
    public void close() {
        held.forEach(context::ungetService);
        held.clear();
    }
}
