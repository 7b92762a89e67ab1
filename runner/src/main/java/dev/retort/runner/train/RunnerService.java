package dev.retort.runner.train;

import ai.djl.engine.Engine;
import dev.retort.api.backbone.Backbone;
import dev.retort.api.data.SegmentationDataset;
import dev.retort.api.distill.Distiller;
import dev.retort.api.error.RetortConfigException;
import dev.retort.api.run.EvaluationReport;
import dev.retort.api.run.EvaluationRequest;
import dev.retort.api.run.RunEvent;
import dev.retort.api.run.RunListener;
import dev.retort.api.run.RunPlan;
import dev.retort.api.run.RunRequest;
import dev.retort.api.run.Runner;
import dev.retort.api.run.TrainingRun;
import dev.retort.nn.Keys;
import dev.retort.osgi.Ranked;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

/**
 * The training engine as the api's {@link Runner} service: binds every Distiller service as a dynamic whiteboard (a
 * bundle started, stopped, updated or re-configured during a run reaches the trainer, which swaps at its next step
 * boundary), binds backbones and datasets in ranking order (a third party replaces a built-in one by ranking),
 * delivers run events to RunListener services and to a request's own listener (each on a thread of its own), and
 * registers the current run as a TrainingRun service.
 */
@Component(service = Runner.class, immediate = true)
public class RunnerService implements Runner, Trainer.Services {
    @Reference(target = "(engine.name=PyTorch)")
    Engine engine;

    private final Map<Distiller, Trainer.Registered> distillers = new ConcurrentHashMap<>();
    /** The distiller services in ranking order, to pick among services of the same name as the framework would. */
    private final Ranked<Distiller> distillerRanking = new Ranked<>();
    private final Ranked<Backbone> backbones = new Ranked<>();
    private final Ranked<SegmentationDataset> datasets = new Ranked<>();
    private final AtomicLong generations = new AtomicLong();
    private final Map<RunListener, EventDispatch> listeners = new ConcurrentHashMap<>();
    private volatile EventDispatch runListener;
    private final AtomicLong runs = new AtomicLong();
    /** Bundles whose distiller went away with the bundle, to tell a restart from a first start. */
    private final Set<Long> stoppedBundles = ConcurrentHashMap.newKeySet();
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
        if (t == null || th == null || !th.isAlive()) {
            listeners.values().forEach(EventDispatch::close);
            return;
        }
        t.stop();
        boolean interrupted = false;
        while (th.isAlive()) {
            try {
                th.join();
            } catch (InterruptedException e) {
                interrupted = true;  // keep waiting: the run must end its step and checkpoint first
            }
        }
        listeners.values().forEach(EventDispatch::close);  // after the run's last events
        if (interrupted) Thread.currentThread().interrupt();
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    void addDistiller(Distiller d, Map<String, Object> props) {
        distillerRanking.bind(d, props);
        distillers.put(d, new Trainer.Registered(d.name(), d, generations.incrementAndGet()));
        changed(d.name(), registered(props));
    }

    /** The service's properties changed: with Declarative Services, its configuration was updated (@Modified). */
    void updatedDistiller(Distiller d, Map<String, Object> props) {
        distillerRanking.bind(d, props);
        distillers.put(d, new Trainer.Registered(d.name(), d, generations.incrementAndGet()));
        Object pid = props.get("service.pid");
        changed(d.name(), "configuration changed" + (pid == null ? "" : " (" + pid + ")"));
    }

    void removeDistiller(Distiller d, Map<String, Object> props) {
        distillers.remove(d);
        distillerRanking.unbind(props);
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

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    void addBackbone(Backbone b, Map<String, Object> props) {
        backbones.bind(b, props);
    }

    void updatedBackbone(Backbone b, Map<String, Object> props) {
        backbones.bind(b, props);
    }

    void removeBackbone(Backbone b, Map<String, Object> props) {
        backbones.unbind(props);
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    void addDataset(SegmentationDataset d, Map<String, Object> props) {
        datasets.bind(d, props);
    }

    void updatedDataset(SegmentationDataset d, Map<String, Object> props) {
        datasets.bind(d, props);
    }

    void removeDataset(SegmentationDataset d, Map<String, Object> props) {
        datasets.unbind(props);
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC)
    void addListener(RunListener l) {
        listeners.put(l, new EventDispatch(l));
    }

    void removeListener(RunListener l) {
        EventDispatch d = listeners.remove(l);
        if (d != null) d.close();
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
        return backbones.withProperty(Backbone.VARIANTS_PROPERTY, variant).orElseThrow(() -> new RetortConfigException(
                "no backbone service builds '" + variant + "'" + hint(variant, backbones.values(Backbone.VARIANTS_PROPERTY))));
    }

    private static String hint(String name, List<String> known) {
        String near = Keys.suggestion(name, known);
        return (near == null ? "" : " (did you mean " + near + "?)") + "; known: " + (known.isEmpty() ? "none" : String.join(", ", known));
    }

    @Override
    public SegmentationDataset dataset(String name) {
        return datasets.withProperty(SegmentationDataset.NAME_PROPERTY, name).orElseThrow(() -> new RetortConfigException(
                "no dataset service '" + name + "'" + hint(name, datasets.values(SegmentationDataset.NAME_PROPERTY))));
    }

    @Override
    public List<Trainer.Registered> distillers() {
        List<Trainer.Registered> list = new ArrayList<>();
        for (Ranked.Entry<Distiller> e : distillerRanking.all()) {
            Trainer.Registered r = distillers.get(e.service());
            if (r != null) list.add(r);
        }
        // per name (a stable sort keeps the ranking order within one): the best ranked first, then the oldest service,
        // so a third party replaces a built-in one by ranking
        list.sort(Comparator.comparing(Trainer.Registered::name));
        return list;
    }

    @Override
    public void publish(RunEvent event) {
        listeners.values().forEach(d -> d.deliver(event));
        EventDispatch own = runListener;
        if (own != null) own.deliver(event);
    }

    // ---- runs ------------------------------------------------------------------------------------------------------

    @Override
    public RunPlan plan(Map<String, ?> description) {
        RunSettings settings = RunSettings.of(description);
        checkServices(settings);
        return settings.plan();
    }

    /**
     * Refuses a run whose backbones, dataset or modules are not registered (or not accepted), before anything is
     * claimed or built: an {@code --overwrite} start must not delete an earlier run's files and then fail.
     */
    private void checkServices(RunSettings settings) {
        backbone(settings.run().student().variant());
        if (settings.run().teacher() != null) backbone(settings.run().teacher().variant());
        dataset(settings.run().data().dataset());
        Trainer.checkModules(settings, distillers());
    }

    @Override
    public void requireKnownKeys(String owner, String prefix, Iterable<String> keys) {
        List<String> list = new ArrayList<>();
        keys.forEach(list::add);
        RunSettings.requireKnown(owner, prefix, list);
    }

    @Override
    public Map<String, Object> readRunFile(Path file) throws IOException {
        return RunSettings.readFile(file);
    }

    @Override
    public RunPlan planOf(Path checkpoint) throws IOException {
        return RunSettings.of(Checkpoints.runDescription(checkpoint)).plan();
    }

    @Override
    public TrainingRun start(RunRequest request) throws IOException {
        return start(RunSettings.of(request.description()), request.resume(), request.overwrite(), request.console(), request.listener(),
                request.timedFrom());
    }

    @Override
    public Optional<TrainingRun> current() {
        return Optional.ofNullable(current);
    }

    @Override
    public EvaluationReport evaluate(EvaluationRequest request) throws IOException {
        return CheckpointEvaluation.run(request, this);
    }

    /**
     * Starts a run on a new thread, having claimed its run folder (locked; refused when another run holds it, or when
     * it holds an earlier run and the run neither resumes nor overwrites). One run at a time per runtime (DJL allows
     * one gradient collector per JVM).
     */
    Trainer start(RunSettings settings, Path resume, boolean overwrite, PrintStream log, RunListener listener, long timedFrom) throws IOException {
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
        return startNow(settings, resume, overwrite, log, listener, timedFrom);
    }

    private synchronized Trainer startNow(RunSettings settings, Path resume, boolean overwrite, PrintStream log, RunListener listener,
                                          long timedFrom) throws IOException {
        if (deactivated) throw new IllegalStateException("Retort is shutting down; no new run starts");
        Trainer t = current;
        if (t != null && !t.finished()) throw new IllegalStateException("run " + t.id() + " is still " + t.status().state() + "; kd:stop it first");
        checkServices(settings);  // refused here, in the caller's thread, before a run exists or its folder is claimed
        RunFolder folder = RunFolder.claim(settings.output(), resume, overwrite);
        String id = settings.run().name() + "-" + runs.incrementAndGet();
        runStartedAt = System.currentTimeMillis();
        stoppedBundles.clear();
        Trainer trainer = new Trainer(id, settings, this, resume, log, folder, overwrite);
        if (timedFrom > 0) trainer.resetTimingsAt(timedFrom);
        Hashtable<String, Object> props = new Hashtable<>();
        props.put("retort.run", id);
        try {
            registration = context.registerService(TrainingRun.class, trainer, props);
        } catch (RuntimeException e) {
            folder.close();
            throw e;
        }
        current = trainer;
        EventDispatch own = listener == null ? null : new EventDispatch(listener);
        runListener = own;
        Thread thread = new Thread(() -> {
            try {
                trainer.run();
            } finally {
                unregister(trainer);
                runListener = null;
                if (own == null) {
                    trainer.complete();
                } else {
                    own.after(trainer::complete);  // once the request's listener has had every event
                    own.close();
                }
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
}
