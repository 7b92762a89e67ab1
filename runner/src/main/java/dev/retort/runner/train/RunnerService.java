package dev.retort.runner.train;

import ai.djl.engine.Engine;
import dev.retort.api.backbone.Backbone;
import dev.retort.api.data.SegmentationDataset;
import dev.retort.api.distill.Distiller;
import dev.retort.api.run.RunEvent;
import dev.retort.api.run.RunListener;
import dev.retort.api.run.TrainingRun;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

/**
 * Runs distillation: binds every Distiller service as a dynamic whiteboard (a bundle started, stopped, updated or
 * re-configured during a run reaches the trainer, which swaps at its next step boundary), finds backbones and
 * datasets by name, publishes run events to RunListener services, and registers the current run as a
 * TrainingRun service.
 */
@Component(service = RunnerService.class, immediate = true)
public class RunnerService implements Trainer.Services {
    @Reference(target = "(engine.name=PyTorch)")
    Engine engine;

    private final Map<Distiller, Trainer.Registered> distillers = new ConcurrentHashMap<>();
    private final AtomicLong generations = new AtomicLong();
    private final List<RunListener> listeners = new CopyOnWriteArrayList<>();
    private final AtomicLong runs = new AtomicLong();
    /** Bundles whose distiller went away with the bundle, to tell a restart from a first start. */
    private final java.util.Set<Long> stoppedBundles = ConcurrentHashMap.newKeySet();
    private volatile long runStartedAt = Long.MAX_VALUE;
    private volatile BundleContext context;
    private volatile Trainer current;
    private volatile Thread thread;
    private volatile boolean deactivated;
    private volatile ServiceRegistration<TrainingRun> registration;

    @Activate
    void activate(BundleContext context) {
        this.context = context;
    }

    /**
     * The framework is stopping (a signal, the shell's exit, a bundle update): the run stops at its next step boundary,
     * writes its checkpoint and closes its files before this returns, so that nothing is torn down under a training
     * step (native code still running while the JVM exits is how a stopped run used to crash).
     */
    @Deactivate
    void deactivate() {
        Trainer t;
        Thread th;
        synchronized (this) {
            deactivated = true;
            t = current;
            th = thread;
        }
        if (t == null || th == null || !th.isAlive()) return;
        t.stop();
        boolean interrupted = false;
        while (th.isAlive()) {
            try {
                th.join();
            } catch (InterruptedException e) {
                interrupted = true;  // keep waiting: the run must end its step and checkpoint first
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    void addDistiller(Distiller d, Map<String, Object> props) {
        distillers.put(d, new Trainer.Registered(d.name(), d, generations.incrementAndGet()));
        changed(d.name(), registered(props));
    }

    /** The service's properties changed: with Declarative Services, its configuration was updated (@Modified). */
    void updatedDistiller(Distiller d, Map<String, Object> props) {
        distillers.put(d, new Trainer.Registered(d.name(), d, generations.incrementAndGet()));
        Object pid = props.get("service.pid");
        changed(d.name(), "configuration changed" + (pid == null ? "" : " (" + pid + ")"));
    }

    void removeDistiller(Distiller d, Map<String, Object> props) {
        distillers.remove(d);
        changed(d.name(), unregistered(props));
    }

    /** Why a distiller service appeared: its bundle was dropped in, updated or started, or its component re-activated. */
    private String registered(Map<String, Object> props) {
        Bundle b = bundleOf(props);
        if (b == null) return "service registered";
        String name = b.getSymbolicName() + " " + b.getVersion();
        if (b.getLastModified() > runStartedAt) {
            return stoppedBundles.remove(b.getBundleId()) ? "bundle " + name + " updated" : "bundle " + name + " installed (dropped in)";
        }
        if (stoppedBundles.remove(b.getBundleId())) return "bundle " + name + " started";
        return "service of bundle " + name + " registered (component activated)";
    }

    /** Why a distiller service went away: its bundle stopped (stop, update, uninstall) or its component was deactivated. */
    private String unregistered(Map<String, Object> props) {
        Bundle b = bundleOf(props);
        if (b == null) return "service unregistered";
        String name = b.getSymbolicName() + " " + b.getVersion();
        if ((b.getState() & (Bundle.STOPPING | Bundle.RESOLVED | Bundle.INSTALLED | Bundle.UNINSTALLED)) != 0) {
            stoppedBundles.add(b.getBundleId());
            return "bundle " + name + " stopped";
        }
        return "service of bundle " + name + " unregistered (component deactivated: its configuration was deleted or rejected)";
    }

    private Bundle bundleOf(Map<String, Object> props) {
        BundleContext c = context;
        Object id = props.get(Constants.SERVICE_BUNDLEID);
        return c == null || !(id instanceof Long l) ? null : c.getBundle(l);
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC)
    void addListener(RunListener l) {
        listeners.add(l);
    }

    void removeListener(RunListener l) {
        listeners.remove(l);
    }

    private void changed(String name, String cause) {
        Trainer t = current;
        if (t != null) t.modulesChanged(name, cause);
    }

    // ---- Trainer.Services -----------------------------------------------------------------------------------------

    @Override
    public Engine engine() {
        return engine;
    }

    @Override
    public Backbone backbone(String variant) {
        for (ServiceReference<Backbone> ref : refs(Backbone.class, null)) {
            Backbone b = context.getService(ref);
            if (b != null && b.variants().contains(variant)) return b;
            if (b != null) context.ungetService(ref);
        }
        throw new IllegalArgumentException("no backbone service builds '" + variant + "'");
    }

    @Override
    public SegmentationDataset dataset(String name) {
        for (ServiceReference<SegmentationDataset> ref : refs(SegmentationDataset.class, "(" + SegmentationDataset.NAME_PROPERTY + "=" + name + ")")) {
            SegmentationDataset d = context.getService(ref);
            if (d != null) return d;
        }
        throw new IllegalArgumentException("no dataset service '" + name + "'");
    }

    @Override
    public List<Trainer.Registered> distillers() {
        List<Trainer.Registered> list = new ArrayList<>(distillers.values());
        list.sort(Comparator.comparing(Trainer.Registered::name).thenComparingLong(Trainer.Registered::generation));
        return list;
    }

    @Override
    public void publish(RunEvent event) {
        for (RunListener l : listeners) {
            try {
                l.onEvent(event);
            } catch (RuntimeException e) {
                System.err.println("retort: run listener " + l + " failed: " + e);
            }
        }
    }

    private <S> List<ServiceReference<S>> refs(Class<S> type, String filter) {
        try {
            return new ArrayList<>(context.getServiceReferences(type, filter));
        } catch (InvalidSyntaxException e) {
            throw new IllegalArgumentException(e);
        }
    }

    // ---- runs ------------------------------------------------------------------------------------------------------

    /** Starts a run on a new thread; one run at a time per runtime (DJL allows one gradient collector per JVM). */
    public Trainer start(RunSettings settings, Path resume, PrintStream log) throws IOException {
        return start(settings, resume, false, log);
    }

    /**
     * Starts a run on a new thread, having claimed its run folder (locked; refused when another run holds it, or when
     * it holds an earlier run and the run neither resumes nor overwrites).
     */
    public Trainer start(RunSettings settings, Path resume, boolean overwrite, PrintStream log) throws IOException {
        Trainer t = current;
        Thread previous = thread;
        if (t != null && t.finished() && previous != null) {
            try {
                previous.join();  // the last run is closing its files; never two runs' native work at once
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while the last run was closing");
            }
        }
        return startNow(settings, resume, overwrite, log);
    }

    private synchronized Trainer startNow(RunSettings settings, Path resume, boolean overwrite, PrintStream log) throws IOException {
        if (deactivated) throw new IllegalStateException("Retort is shutting down; no new run starts");
        Trainer t = current;
        if (t != null && !t.finished()) throw new IllegalStateException("run " + t.id() + " is still " + t.status().state() + "; kd:stop it first");
        Trainer.checkModules(settings, distillers());  // refused here, in the caller's thread, before a run exists
        RunFolder folder = RunFolder.claim(settings.output(), resume, overwrite);
        String id = settings.run().name() + "-" + runs.incrementAndGet();
        runStartedAt = System.currentTimeMillis();
        stoppedBundles.clear();
        Trainer trainer = new Trainer(id, settings, this, resume, log, folder, overwrite);
        Hashtable<String, Object> props = new Hashtable<>();
        props.put("retort.run", id);
        try {
            registration = context.registerService(TrainingRun.class, trainer, props);
        } catch (RuntimeException e) {
            folder.close();
            throw e;
        }
        current = trainer;
        Thread thread = new Thread(() -> {
            try {
                trainer.run();
            } finally {
                unregister(trainer);
            }
        }, "retort-train-" + id);
        thread.setDaemon(false);
        this.thread = thread;
        thread.start();
        return trainer;
    }

    private synchronized void unregister(Trainer trainer) {
        if (current == trainer && registration != null) {
            try {
                registration.unregister();
            } catch (IllegalStateException ignored) {
                // already gone with the bundle
            }
            registration = null;
        }
    }

    /** The current or last run, if any. */
    public Trainer current() {
        return current;
    }
}
