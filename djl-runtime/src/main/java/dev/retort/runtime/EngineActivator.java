package dev.retort.runtime;

import ai.djl.engine.Engine;
import java.nio.file.Path;
import org.osgi.framework.BundleActivator;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;

/**
 * Starts the engine and registers it with the system bundle context. Used by the Retort launcher and, through
 * this jar's {@code Embedded-Activator} header, by bnd's launcher in the OSGi integration tests.
 */
public final class EngineActivator implements BundleActivator {
    private ServiceRegistration<Engine> registration;

    @Override
    public void start(BundleContext context) {
        registration = DjlRuntime.register(context, DjlRuntime.startOffline(Path.of(System.getProperty("user.dir"), ".retort-cache", "djl")));
    }

    @Override
    public void stop(BundleContext context) {
        if (registration != null) {
            registration.unregister();
            registration = null;
        }
    }
}
