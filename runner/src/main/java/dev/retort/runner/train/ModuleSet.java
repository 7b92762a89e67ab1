package dev.retort.runner.train;

import dev.retort.api.error.RetortConfigException;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import dev.retort.api.distill.DistillationModule;
import dev.retort.api.distill.Distiller;
import dev.retort.api.distill.Reconfiguration;
import dev.retort.api.run.ModuleRef;
import dev.retort.api.run.RunEvent;
import dev.retort.distill.support.ModuleRoster;
import dev.retort.nn.Keys;
import dev.retort.runner.train.ModuleReconciler.Active;
import dev.retort.runner.train.ModuleReconciler.Parked;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Supplier;

/**
 * A run's distillation modules (Lightning's connector for them): the active ones wired into a {@link ModuleRoster},
 * the parked ones with their state, and the optimizer's parameter set kept in line with both. At each step boundary
 * where something changed, {@link ModuleReconciler} decides and this applies: builds, closes, prepares, re-wires, and
 * logs every change with its cause (a {@code MODULES_CHANGED} event).
 */
final class ModuleSet implements ModuleReconciler.Modules {
    private final RunSettings settings;
    private final RunResources run;
    private final RunControl control;
    private final RunEvents events;
    private final RunSnapshot.Board board;
    private final AdamW optimizer;
    private final Supplier<List<Trainer.Registered>> registry;
    private final Preparations preparations;
    private List<Active> modules = new ArrayList<>();
    private Map<String, Parked> parked = new TreeMap<>();
    private ModuleRoster roster;
    /** Modules whose preparation() was asked (once each, after any saved state was loaded); by identity. */
    private final Set<DistillationModule> askedToPrepare = Collections.newSetFromMap(new IdentityHashMap<>());
    /** False while the run builds its first module set and loads its checkpoint: modules are prepared from the first step boundary on. */
    private boolean preparationsOpen;
    private boolean built;

    ModuleSet(RunSettings settings, RunResources run, RunControl control, RunEvents events, RunSnapshot.Board board, AdamW optimizer,
              Supplier<List<Trainer.Registered>> registry, Preparations preparations) {
        this.settings = settings;
        this.run = run;
        this.control = control;
        this.events = events;
        this.board = board;
        this.optimizer = optimizer;
        this.registry = registry;
        this.preparations = preparations;
    }

    /** The active modules, in name order. */
    List<DistillationModule> active() {
        return modules.stream().map(Active::module).toList();
    }

    ModuleRoster roster() {
        return roster;
    }

    /** The student's and the active modules' parameters by checkpoint key: what the optimizer trains. */
    Map<String, Parameter> trainable() {
        Map<String, Parameter> all = new LinkedHashMap<>();
        run.student().parameters().forEach((k, p) -> all.put("student." + k, p));
        if (roster != null && run.teacher() != null) all.putAll(roster.parameters());
        return all;
    }

    /** Active and parked modules' parameters by checkpoint key: a checkpoint keeps a parked module's state too. */
    Map<String, Parameter> saved() {
        Map<String, Parameter> all = new LinkedHashMap<>(roster == null ? Map.of() : roster.parameters());
        for (Parked p : parked.values()) {
            p.active().module().parameters().forEach((k, v) -> all.put(ModuleRoster.key(p.active().name(), k), v));
        }
        return all;
    }

    /** From now on, modules that join are prepared first (the run's first boundary, once its checkpoint is loaded). */
    void openPreparations() {
        preparationsOpen = true;
    }

    /**
     * Refuses a run whose modules are not what it asks for, before anything is built: a name in {@code modules} or in a
     * {@code module.<name>.} section that no registered distiller has, a key or value its distiller does not accept,
     * and a requested module whose own configuration was rejected or that its configuration disables.
     */
    static void check(RunSettings settings, List<Trainer.Registered> distillers) {
        Map<String, Distiller> byName = new TreeMap<>();
        for (Trainer.Registered r : distillers) byName.putIfAbsent(r.name(), r.distiller());
        Set<String> requested = new HashSet<>();
        settings.run().modules().forEach(m -> requested.add(m.distiller()));
        for (Map.Entry<String, Map<String, Object>> e : settings.moduleConfigs().entrySet()) {
            String name = e.getKey();
            Distiller d = byName.get(name);
            if (d == null) {
                String hint = Keys.suggestion(name, byName.keySet());
                throw new RetortConfigException("unknown module " + name + (hint == null ? "" : " (did you mean " + hint + "?)")
                        + (requested.contains(name) ? " in modules = " + settings.source().get("modules") : " in module." + name + ".* keys")
                        + "; registered: " + (byName.isEmpty() ? "none" : String.join(", ", byName.keySet())));
            }
            if (d.rejection().isPresent()) {
                if (requested.contains(name)) throw new RetortConfigException("module " + name + ": configuration rejected: " + d.rejection().get());
                continue;  // not needed by this run: its section cannot be checked against a configuration that is not in force
            }
            if (requested.contains(name) && !d.enabled()) {
                throw new RetortConfigException("module " + name + " is in modules = " + settings.source().get("modules")
                        + " but its configuration disables it (enabled = false)");
            }
            d.validate(e.getValue());
        }
    }

    /**
     * A module listed in {@code modules} is required: each must build for this teacher and student and the list
     * must wire up, else the run fails at start with the reason (a run that follows the registry leaves out, logged,
     * what cannot be built).
     */
    void requireRequested() {
        if (run.teacher() == null || settings.followRegistry() || settings.run().modules().isEmpty()) return;
        Map<String, Distiller> byName = new TreeMap<>();
        for (Trainer.Registered r : registry.get()) byName.putIfAbsent(r.name(), r.distiller());
        List<DistillationModule> built = new ArrayList<>();
        try (NDManager scratch = run.base().newSubManager()) {
            for (ModuleRef m : settings.run().modules()) {
                try {
                    built.add(run.factory(scratch).build(byName.get(m.distiller()), m.config()));
                } catch (RuntimeException e) {
                    throw new RetortConfigException("module " + m.distiller() + " is in this run's module list but cannot be built: " + e.getMessage(), e);
                }
            }
            ModuleRoster.of(built);
        } finally {
            built.forEach(DistillationModule::close);
        }
    }

    /** Brings the module set in line with the registry, the run's module list and kd:enable/kd:disable (see {@link ModuleReconciler}). */
    void reconcile(long step) {
        if (run.teacher() == null) {
            board.update(s -> s.withModules(List.of(), s.moduleParams()));
            optimizer.parameters(trainable());
            return;
        }
        Map<String, String> why = control.takeCauses();
        Map<String, Trainer.Registered> registered = new TreeMap<>();
        for (Trainer.Registered r : registry.get()) registered.putIfAbsent(r.name(), r);
        Map<String, Map<String, ?>> wanted = ModuleReconciler.wanted(settings, registered, control.disabled());
        String defaultCause = built ? "registry changed" : "run start";
        built = true;
        List<String> before = modules.stream().map(Active::name).toList();
        ModuleReconciler.Reconciliation r = ModuleReconciler.reconcile(modules, parked, registered, wanted, control.disabled(), why, defaultCause,
                step, preparationsOpen, this);
        r.discarded().forEach(this::discard);
        control.disabled().addAll(r.disable());
        Map<String, String> changes = new TreeMap<>(r.changes());
        List<Active> next = new ArrayList<>(r.active());
        ModuleRoster set;
        try {
            set = ModuleRoster.of(next.stream().map(Active::module).toList());
        } catch (RuntimeException e) {
            // Cannot happen after the reconciler's checks; if it does, the last working set goes on rather than the run dying.
            List<Active> joinedNow = next.stream().filter(a -> !modules.contains(a) && parked.values().stream().noneMatch(p -> p.active().equals(a))).toList();
            joinedNow.forEach(a -> {
                discard(a);
                changes.put(a.name(), "module " + a.name() + " cannot join the run and is left out: " + e.getMessage());
            });
            next.removeAll(joinedNow);
            set = ModuleRoster.of(next.stream().map(Active::module).toList());
        }
        modules = next;
        parked = r.parked();
        roster = set;
        List<String> active = modules.stream().map(Active::name).toList();
        Set<String> keep = new HashSet<>();
        parked.values().forEach(p -> keep.addAll(keys(p.active())));
        optimizer.parameters(trainable(), keep);
        if (!changes.isEmpty() || !active.equals(before)) {
            long params = modules.stream().mapToLong(a -> ModuleRoster.trainable(a.module())).sum();
            board.update(s -> s.withModules(active, params));
            String message = "step " + step + ": modules " + before + " -> " + active + " (" + params + " training-only parameters)"
                    + (changes.isEmpty() ? "" : ": " + String.join("; ", changes.values()));
            events.log("step " + step + ": modules " + before + " -> " + active + " (" + params + " training-only parameters)");
            changes.values().forEach(c -> events.log("  " + c));
            // the sum, then each active module's own count (params.<module>), for views that list modules
            Map<String, Double> counts = new LinkedHashMap<>();
            counts.put("module_params", (double) params);
            modules.forEach(a -> counts.put("params." + a.name(), (double) ModuleRoster.trainable(a.module())));
            events.event(RunEvent.Type.MODULES_CHANGED, counts, message);
        } else {
            board.update(s -> s.withModules(active, s.moduleParams()));
        }
    }

    // ---- ModuleReconciler.Modules ----------------------------------------------------------------------------

    @Override
    public DistillationModule build(Distiller distiller, Map<String, ?> config) {
        return run.factory(run.base()).build(distiller, config);
    }

    @Override
    public Reconfiguration reconfigure(DistillationModule module, Map<String, ?> config) {
        return module.reconfigure(run.context(config));
    }

    @Override
    public ModuleReconciler.Prepared prepare(Active module, Map<String, ?> config) {
        if (!askedToPrepare.add(module.module())) return ModuleReconciler.Prepared.READY;
        return preparations.prepare(module.name(), module.distiller(), config, module.module());
    }

    /** Closes a module for good and releases its optimiser state. */
    private void discard(Active a) {
        askedToPrepare.remove(a.module());
        optimizer.release(keys(a));
        a.module().close();
    }

    private static List<String> keys(Active a) {
        return a.module().parameters().keySet().stream().map(k -> ModuleRoster.key(a.name(), k)).toList();
    }

    void close() {
        modules.forEach(a -> a.module().close());
        parked.values().forEach(p -> p.active().module().close());
    }
}
