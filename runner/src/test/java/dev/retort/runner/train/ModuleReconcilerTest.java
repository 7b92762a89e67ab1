package dev.retort.runner.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Parameter;
import dev.retort.api.distill.DistillContext;
import dev.retort.api.distill.DistillStep;
import dev.retort.api.distill.DistillationModule;
import dev.retort.api.distill.Distiller;
import dev.retort.api.distill.LossTerm;
import dev.retort.api.distill.Reconfiguration;
import dev.retort.api.distill.Refinement;
import dev.retort.runner.train.ModuleReconciler.Active;
import dev.retort.runner.train.ModuleReconciler.Parked;
import dev.retort.runner.train.ModuleReconciler.Prepared;
import dev.retort.runner.train.ModuleReconciler.Reconciliation;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** The module reconciliation as a function of roster, registry and wanted set: no tensor, no engine, no run. */
class ModuleReconcilerTest {
    /** A module without parameters: a name, the ports it offers or refines, and how it answers a new configuration. */
    static final class Fake implements DistillationModule {
        final String name;
        final List<String> ports;
        final List<Refinement> refinements;
        Reconfiguration answer = Reconfiguration.applied("weight 1 -> 2");
        boolean closed;

        Fake(String name, List<String> ports, List<String> refines) {
            this.name = name;
            this.ports = ports;
            this.refinements = refines.stream().<Refinement>map(p -> new Refinement() {
                public String port() {
                    return p;
                }

                public NDArray apply(NDArray value, DistillStep step) {
                    return value;
                }
            }).toList();
        }

        public String name() {
            return name;
        }

        public Map<String, Parameter> parameters() {
            return Map.of();
        }

        public List<String> ports() {
            return ports;
        }

        public List<Refinement> refinements() {
            return refinements;
        }

        public List<LossTerm> forward(DistillStep step) {
            return List.of();
        }

        public void close() {
            closed = true;
        }
    }

    /** A distiller service that builds {@link Fake}s. */
    static final class FakeDistiller implements Distiller {
        final String name;
        final List<String> ports, refines;
        boolean enabled = true;
        String buildName;
        RuntimeException fails;

        FakeDistiller(String name, List<String> ports, List<String> refines) {
            this.name = name;
            this.ports = ports;
            this.refines = refines;
            this.buildName = name;
        }

        public String name() {
            return name;
        }

        public String description() {
            return name;
        }

        public boolean enabled() {
            return enabled;
        }

        public DistillationModule build(DistillContext context) {
            if (fails != null) throw fails;
            return new Fake(buildName, ports, refines);
        }
    }

    /** The run side: builds, re-configures and prepares, recording what it was asked. */
    static final class Side implements ModuleReconciler.Modules {
        final Map<String, Prepared> preparations = new HashMap<>();
        final List<String> built = new java.util.ArrayList<>(), prepared = new java.util.ArrayList<>();

        public DistillationModule build(Distiller distiller, Map<String, ?> config) {
            built.add(distiller.name());
            return distiller.build(null);
        }

        public Reconfiguration reconfigure(DistillationModule module, Map<String, ?> config) {
            Reconfiguration r = ((Fake) module).answer;
            if (r == null) throw new IllegalArgumentException("weight must be >= 0");
            return r;
        }

        public Prepared prepare(Active module, Map<String, ?> config) {
            prepared.add(module.name());
            return preparations.getOrDefault(module.name(), Prepared.READY);
        }
    }

    private final FakeDistiller csf = new FakeDistiller("csf", List.of(), List.of());
    private final FakeDistiller pea = new FakeDistiller("pea", List.of("pea.output"), List.of());
    private final FakeDistiller glmixer = new FakeDistiller("glmixer", List.of(), List.of("pea.output"));
    private final Map<String, Trainer.Registered> registry = new TreeMap<>();
    private final Side side = new Side();
    private final Set<String> disabled = new HashSet<>();

    private void register(FakeDistiller d, long generation) {
        registry.put(d.name(), new Trainer.Registered(d.name(), d, generation));
    }

    private Map<String, Map<String, ?>> wanted(String... names) {
        Map<String, Map<String, ?>> w = new LinkedHashMap<>();
        for (String n : names) w.put(n, Map.of());
        return w;
    }

    private Reconciliation reconcile(List<Active> active, Map<String, Parked> parked, Map<String, Map<String, ?>> wanted, Map<String, String> why,
                                     String cause, long step, boolean prepare) {
        return ModuleReconciler.reconcile(active, parked, registry, wanted, disabled, why, cause, step, prepare, side);
    }

    private static List<String> names(List<Active> active) {
        return active.stream().map(Active::name).toList();
    }

    @Test
    void atRunStartEveryWantedModuleJoinsInNameOrder() {
        register(pea, 1);
        register(csf, 1);
        Reconciliation r = reconcile(List.of(), Map.of(), wanted("pea", "csf"), Map.of(), "run start", 0, false);
        assertEquals(List.of("csf", "pea"), names(r.active()));
        assertEquals(Map.of("csf", "csf joined (run start)", "pea", "pea joined (run start)"), r.changes());
        assertTrue(r.discarded().isEmpty() && r.parked().isEmpty() && r.disable().isEmpty());
    }

    @Test
    void aReconfiguredModuleKeepsItsStateInPlaceOrIsRebuiltForAStructuralChange() {
        register(csf, 1);
        Active before = reconcile(List.of(), Map.of(), wanted("csf"), Map.of(), "run start", 0, false).active().get(0);
        register(csf, 2);
        Reconciliation inPlace = reconcile(List.of(before), Map.of(), wanted("csf"), Map.of("csf", "configuration changed"), "registry changed", 4, false);
        assertSame(before.module(), inPlace.active().get(0).module());
        assertEquals(2, inPlace.active().get(0).generation());
        assertEquals("csf re-configured in place (configuration changed): weight 1 -> 2; trained parameters and AdamW moments kept", inPlace.changes().get("csf"));

        ((Fake) before.module()).answer = Reconfiguration.rebuild("mid_channels 64 -> 32 changes the parameter shapes");
        register(csf, 3);
        Reconciliation rebuilt = reconcile(inPlace.active(), Map.of(), wanted("csf"), Map.of("csf", "configuration changed"), "registry changed", 5, false);
        assertEquals(List.of(before), rebuilt.discarded().stream().map(a -> new Active(a.name(), a.distiller(), 1, a.module())).toList());
        assertTrue(rebuilt.active().get(0).module() != before.module());
        assertEquals("csf rebuilt from scratch (configuration changed): mid_channels 64 -> 32 changes the parameter shapes; its trained parameters"
                + " and AdamW moments are released", rebuilt.changes().get("csf"));
    }

    @Test
    void aRejectedConfigurationParksTheModuleWithItsState() {
        register(csf, 1);
        Active before = reconcile(List.of(), Map.of(), wanted("csf"), Map.of(), "run start", 0, false).active().get(0);
        ((Fake) before.module()).answer = null;
        register(csf, 2);
        Reconciliation r = reconcile(List.of(before), Map.of(), wanted("csf"), Map.of(), "registry changed", 3, false);
        assertTrue(r.active().isEmpty() && r.discarded().isEmpty());
        assertEquals("configuration rejected: weight must be >= 0", r.parked().get("csf").reason());
        assertTrue(r.changes().get("csf").startsWith("csf: new configuration rejected (registry changed): weight must be >= 0"));
    }

    @Test
    void aDisabledModuleIsParkedAndComesBackWithTheStateItHadWhenItLeft() {
        register(csf, 1);
        register(pea, 1);
        List<Active> start = reconcile(List.of(), Map.of(), wanted("csf", "pea"), Map.of(), "run start", 0, false).active();
        disabled.add("pea");
        Reconciliation off = reconcile(start, Map.of(), wanted("csf"), Map.of("pea", "kd:disable"), "registry changed", 2, false);
        assertEquals(List.of("csf"), names(off.active()));
        assertEquals(new Parked(start.get(1), 2, "kd:disable"), off.parked().get("pea"));
        assertEquals("pea left the run (kd:disable); its parameters and AdamW moments are kept for when it returns", off.changes().get("pea"));
        disabled.remove("pea");
        Reconciliation back = reconcile(off.active(), off.parked(), wanted("csf", "pea"), Map.of("pea", "kd:enable"), "registry changed", 7, false);
        assertSame(start.get(1).module(), back.active().get(1).module());
        assertEquals("pea is back (kd:enable), with the parameters and AdamW moments it had at step 2", back.changes().get("pea"));
        assertTrue(back.parked().isEmpty() && back.discarded().isEmpty());
    }

    @Test
    void aModuleWhoseServiceWentAwayIsReleasedAndANewServiceStartsAfresh() {
        register(csf, 1);
        Active before = reconcile(List.of(), Map.of(), wanted("csf"), Map.of(), "run start", 0, false).active().get(0);
        registry.clear();
        Reconciliation gone = reconcile(List.of(before), Map.of(), wanted(), Map.of("csf", "bundle distill-csf 0.1.0 stopped"), "registry changed", 3, false);
        assertEquals(List.of(before), gone.discarded());
        assertEquals("csf left the run (bundle distill-csf 0.1.0 stopped); its trained state is released", gone.changes().get("csf"));

        FakeDistiller updated = new FakeDistiller("csf", List.of(), List.of());
        register(updated, 2);
        Reconciliation fresh = reconcile(List.of(before), Map.of(), wanted("csf"), Map.of("csf", "bundle distill-csf 0.1.0 updated"), "registry changed", 4, false);
        assertEquals(List.of(before), fresh.discarded());
        assertSame(updated, fresh.active().get(0).distiller());
        assertTrue(fresh.changes().get("csf").startsWith("csf built from scratch: a new csf service (bundle distill-csf 0.1.0 updated)"));
    }

    @Test
    void aRefinerWithoutItsPortWaitsParkedUntilThePortReturns() {
        register(glmixer, 1);
        Reconciliation alone = reconcile(List.of(), Map.of(), wanted("glmixer"), Map.of(), "run start", 0, false);
        assertTrue(alone.active().isEmpty());
        assertEquals("refines a port no active module offers", alone.parked().get("glmixer").reason());
        assertEquals("glmixer joined (run start); but module glmixer refines a port no active module offers; left out until one does (its state is kept)",
                alone.changes().get("glmixer"));
        register(pea, 1);
        Reconciliation both = reconcile(alone.active(), alone.parked(), wanted("glmixer", "pea"), Map.of("pea", "bundle distill-pea 0.1.0 started"),
                "registry changed", 5, false);
        assertEquals(List.of("glmixer", "pea"), names(both.active()));
        assertEquals("glmixer is back (registry changed), with the parameters and AdamW moments it had at step 0", both.changes().get("glmixer"));
    }

    @Test
    void aModuleThatCannotBeBuiltOrCannotJoinIsLeftOutAndTheOthersGoOn() {
        register(csf, 1);
        register(pea, 1);
        pea.fails = new IllegalStateException("classes missing");
        csf.buildName = "";
        Reconciliation r = reconcile(List.of(), Map.of(), wanted("csf", "pea"), Map.of(), "run start", 0, false);
        assertTrue(r.active().isEmpty());
        assertEquals("module csf cannot join the run and is left out: it has no name", r.changes().get("csf"));
        assertEquals("module pea cannot be built and is left out: classes missing", r.changes().get("pea"));
    }

    @Test
    void aFailedPreparationDisablesTheModuleAndAStoppedOneDoesNot() {
        register(csf, 1);
        register(pea, 1);
        side.preparations.put("csf", new Prepared.Failed("3 non-finite losses in a row up to step 2"));
        side.preparations.put("pea", new Prepared.Stopped(4, 10));
        Reconciliation r = reconcile(List.of(), Map.of(), wanted("csf", "pea"), Map.of(), "run start", 0, true);
        assertEquals(List.of("csf", "pea"), side.prepared);
        assertTrue(r.active().isEmpty());
        assertEquals(Set.of("csf"), r.disable());
        assertTrue(r.stopped());
        assertEquals(2, r.discarded().size());
        assertEquals("module csf is left out: its preparation failed: 3 non-finite losses in a row up to step 2; disabled (kd:enable csf tries again)",
                r.changes().get("csf"));
        assertEquals("module pea is left out: its preparation was interrupted by a stop request at step 4 of 10", r.changes().get("pea"));
    }

    @Test
    void aRunWantsItsListOrTheRegistryLessWhatIsDisabled() {
        register(csf, 1);
        register(pea, 1);
        register(glmixer, 1);
        glmixer.enabled = false;
        RunSettings follow = RunSettings.of(TestServices.tinyRun(Path.of("x")));
        assertEquals(List.of("csf", "pea"), List.copyOf(ModuleReconciler.wanted(follow, registry, Set.of()).keySet()));
        assertEquals(List.of("csf"), List.copyOf(ModuleReconciler.wanted(follow, registry, Set.of("pea")).keySet()));
        Map<String, Object> listed = TestServices.tinyRun(Path.of("x"));
        listed.put("modules", "pea,glmixer");
        assertEquals(List.of("pea"), List.copyOf(ModuleReconciler.wanted(RunSettings.of(listed), registry, Set.of()).keySet()));
    }
}
