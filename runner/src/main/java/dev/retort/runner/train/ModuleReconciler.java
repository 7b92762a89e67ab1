package dev.retort.runner.train;

import dev.retort.api.distill.DistillationModule;
import dev.retort.api.distill.Distiller;
import dev.retort.api.distill.Reconfiguration;
import dev.retort.api.run.ModuleRef;
import dev.retort.distill.support.ModuleRoster;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Brings a run's module set in line with the registry, the run's module list and kd:enable/kd:disable: from the
 * roster (active and parked modules), the registered distillers and the wanted set, the next roster and one line per
 * change with its cause. A module whose distiller was re-configured is asked to take the change in place (trained
 * parameters and AdamW moments stay) and is built anew only for a structural change; a module left out while its
 * distiller is still there (kd:disable, {@code enabled = false}, its port gone) is parked with its state and continues
 * from it when it returns; a module whose service is gone is discarded. A module that cannot be built or cannot join
 * is left out with a message.
 *
 * <p>It touches no tensor: building, re-configuring and preparing go through {@link Modules}, and what is to be
 * released comes back in {@link Reconciliation#discarded()} for the caller to close.
 */
final class ModuleReconciler {
    private ModuleReconciler() {}

    /** A module in the run, built from {@code distiller} at {@code generation}. */
    record Active(String name, Distiller distiller, long generation, DistillationModule module) {}

    /** A module left out for now (kd:disable, disabled by its configuration, its port gone), kept with its state. */
    record Parked(Active active, long since, String reason) {}

    /** How a module's preparation phase ended. */
    sealed interface Prepared {
        /** It needs none, or it finished (or was found in the cache): the module may distil. */
        record Ready() implements Prepared {}

        /** It failed; the module is left out and disabled until kd:enable. */
        record Failed(String reason) implements Prepared {}

        /** A stop request ended it at {@code step} of {@code steps}; the run stops. */
        record Stopped(long step, long steps) implements Prepared {}

        Prepared READY = new Ready();
    }

    /** Where modules are built, re-configured and prepared (the run's manager, teacher and data). */
    interface Modules {
        /** Builds a module (not wired), or throws why not. */
        DistillationModule build(Distiller distiller, Map<String, ?> config);

        /** Asks a module to take a new configuration; throws when it is rejected. */
        Reconfiguration reconfigure(DistillationModule module, Map<String, ?> config);

        /** Runs a module's preparation phase unless it was asked before. */
        Prepared prepare(Active module, Map<String, ?> config);
    }

    /**
     * The roster and what changed.
     *
     * @param active    the next active modules, by name
     * @param parked    the next parked modules, by name
     * @param changes   one line per module that changed, by name
     * @param discarded modules to close for good (their optimizer state is released)
     * @param disable   modules to add to the disabled set (their preparation failed)
     * @param stopped   a stop request ended a preparation
     */
    record Reconciliation(List<Active> active, Map<String, Parked> parked, Map<String, String> changes, List<Active> discarded,
                          Set<String> disable, boolean stopped) {}

    /**
     * What a run wants: every registered distiller (a run that follows the registry, with its {@code module.<name>.}
     * section) or the run's module list; less the disabled ones and those whose configuration disables them.
     */
    static Map<String, Map<String, ?>> wanted(RunSettings settings, Map<String, Trainer.Registered> registered, Set<String> disabled) {
        Map<String, Map<String, ?>> wanted = new LinkedHashMap<>();
        if (settings.followRegistry()) {
            registered.keySet().forEach(n -> wanted.put(n, settings.moduleConfig(n)));
        } else {
            for (ModuleRef m : settings.run().modules()) {
                if (registered.containsKey(m.distiller())) wanted.put(m.distiller(), m.config());
            }
        }
        disabled.forEach(wanted::remove);
        wanted.keySet().removeIf(n -> !registered.get(n).distiller().enabled());
        return wanted;
    }

    /**
     * @param why          causes recorded since the last reconciliation, by distiller name
     * @param defaultCause the cause of a change nobody recorded ("run start", "registry changed")
     * @param prepare      whether modules are prepared now (not while the run builds its first set and loads its checkpoint)
     */
    static Reconciliation reconcile(List<Active> current, Map<String, Parked> parkedBefore, Map<String, Trainer.Registered> registered,
                                    Map<String, Map<String, ?>> wanted, Set<String> disabled, Map<String, String> why, String defaultCause,
                                    long step, boolean prepare, Modules modules) {
        Map<String, Parked> parked = new TreeMap<>(parkedBefore);
        Set<String> wasParked = Set.copyOf(parked.keySet());
        Map<String, String> changes = new TreeMap<>();
        Map<String, String> fresh = new TreeMap<>();  // name -> why it is built anew
        List<Active> discarded = new ArrayList<>();
        Set<String> disable = new LinkedHashSet<>();
        List<Active> next = new ArrayList<>();
        List<Active> candidates = new ArrayList<>(current);
        Map<String, Long> returning = new TreeMap<>();
        for (Parked p : List.copyOf(parked.values())) {
            String name = p.active().name();
            Trainer.Registered r = registered.get(name);
            if (r == null || r.distiller() != p.active().distiller()) {
                parked.remove(name);
                discarded.add(p.active());
                changes.put(name, name + ": its service is gone (" + why.getOrDefault(name, defaultCause) + "); the state kept since step "
                        + p.since() + " is released");
            } else if (wanted.containsKey(name)) {
                parked.remove(name);
                candidates.add(p.active());
                returning.put(name, p.since());
            }
        }
        for (Active a : candidates) {
            String name = a.name(), cause = why.getOrDefault(name, defaultCause);
            Trainer.Registered r = registered.get(name);
            if (r == null) {
                discarded.add(a);
                changes.put(name, name + " left the run (" + cause + "); its trained state is released");
                continue;
            }
            if (r.distiller() != a.distiller()) {
                // The old module's code belongs to the old service (a stopped or updated bundle): it cannot be kept.
                discarded.add(a);
                if (wanted.containsKey(name)) {
                    fresh.put(name, name + " built from scratch: a new " + name + " service (" + cause + "); the trained state of the old one is released");
                } else {
                    changes.put(name, name + " left the run (" + cause + "); its trained state is released");
                }
                continue;
            }
            if (!wanted.containsKey(name)) {
                String reason = disabled.contains(name) ? "kd:disable" : !r.distiller().enabled() ? "disabled by its configuration, enabled = false" : cause;
                parked.put(name, new Parked(a, returning.getOrDefault(name, step), reason));
                changes.put(name, name + " left the run (" + reason + "); its parameters and AdamW moments are kept for when it returns");
                continue;
            }
            String back = returning.containsKey(name) ? " and returns with the parameters and AdamW moments it had at step " + returning.get(name) : "";
            if (r.generation() == a.generation()) {
                next.add(a);
                continue;
            }
            Reconfiguration rc;
            try {
                rc = modules.reconfigure(a.module(), wanted.get(name));
            } catch (RuntimeException | LinkageError e) {
                parked.put(name, new Parked(a, returning.getOrDefault(name, step), "configuration rejected: " + e.getMessage()));
                changes.put(name, name + ": new configuration rejected (" + cause + "): " + e.getMessage()
                        + "; left out, its parameters and AdamW moments are kept until a valid configuration arrives");
                continue;
            }
            if (rc.inPlace()) {
                next.add(new Active(name, a.distiller(), r.generation(), a.module()));
                changes.put(name, name + " re-configured in place (" + cause + "): " + (rc.changes().isEmpty() ? "nothing it uses changed" : rc.changes())
                        + "; trained parameters and AdamW moments kept" + back);
            } else {
                discarded.add(a);
                fresh.put(name, name + " rebuilt from scratch (" + cause + "): " + rc.changes() + "; its trained parameters and AdamW moments are released");
            }
        }
        for (Map.Entry<String, Map<String, ?>> w : wanted.entrySet()) {
            String name = w.getKey();
            if (next.stream().anyMatch(a -> a.name().equals(name)) || parked.containsKey(name)) continue;
            Trainer.Registered r = registered.get(name);
            String joined = fresh.getOrDefault(name, name + " joined (" + why.getOrDefault(name, defaultCause) + ")");
            DistillationModule m;
            try {
                m = modules.build(r.distiller(), w.getValue());
            } catch (RuntimeException | LinkageError e) {
                changes.put(name, (fresh.containsKey(name) ? fresh.get(name) + ", but " : "") + "module " + name + " cannot be built and is left out: " + e.getMessage());
                continue;
            }
            if (ModuleRoster.join(m, next.stream().map(Active::module).toList()) instanceof ModuleRoster.Join.Refused refused) {
                m.close();
                changes.put(name, "module " + name + " cannot join the run and is left out: " + refused.reason());
                continue;
            }
            next.add(new Active(name, r.distiller(), r.generation(), m));
            changes.put(name, joined);
        }
        boolean stopped = false;
        if (prepare) {
            // A module that must be prepared (MasKD's tokens) is, before it joins: the swap happens when its preparation ends.
            for (Active a : List.copyOf(next)) {
                Prepared outcome = modules.prepare(a, wanted.get(a.name()));
                String text = outcome instanceof Prepared.Failed f ? "failed: " + f.reason() + "; disabled (kd:enable " + a.name() + " tries again)"
                        : outcome instanceof Prepared.Stopped s ? Preparations.STOPPED + " at step " + s.step() + " of " + s.steps() : null;
                if (text == null) continue;
                next.remove(a);
                discarded.add(a);
                if (outcome instanceof Prepared.Failed) disable.add(a.name());
                else stopped = true;
                changes.put(a.name(), "module " + a.name() + " is left out: its preparation " + text);
            }
        }
        next.sort((a, b) -> a.name().compareTo(b.name()));
        while (true) {
            List<String> orphans = ModuleRoster.unwired(next.stream().map(Active::module).toList());
            if (orphans.isEmpty()) break;
            next.removeIf(a -> {
                if (!orphans.contains(a.name())) return false;
                parked.put(a.name(), new Parked(a, returning.getOrDefault(a.name(), step), "refines a port no active module offers"));
                String line = "module " + a.name() + " refines a port no active module offers; left out until one does (its state is kept)";
                if (changes.containsKey(a.name())) changes.put(a.name(), changes.get(a.name()) + "; but " + line);
                else if (!wasParked.contains(a.name())) changes.put(a.name(), line);
                return true;
            });
        }
        for (Active a : next) {
            if (returning.containsKey(a.name()) && !changes.containsKey(a.name())) {
                changes.put(a.name(), a.name() + " is back (" + why.getOrDefault(a.name(), defaultCause) + "), with the parameters and AdamW moments it had at step "
                        + returning.get(a.name()));
            }
        }
        return new Reconciliation(next, parked, changes, discarded, disable, stopped);
    }
}
