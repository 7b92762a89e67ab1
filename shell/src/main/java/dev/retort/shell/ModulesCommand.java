package dev.retort.shell;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.retort.api.backbone.Backbone;
import dev.retort.api.backbone.ModelCost;
import dev.retort.api.backbone.NetworkSpec;
import dev.retort.api.distill.DistillationModule;
import dev.retort.api.distill.Distiller;
import dev.retort.api.distill.LossTerm;
import dev.retort.api.distill.Probe;
import dev.retort.api.error.RetortConfigException;
import dev.retort.api.tap.TapValues;
import dev.retort.distill.support.ModuleRoster;
import dev.retort.distill.support.Objective;
import dev.retort.osgi.HeldServices;
import dev.retort.osgi.ServiceLookup;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.apache.felix.service.command.Descriptor;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/**
 * {@code kd:modules}: the module set a run would build now from the registered, enabled distillers, for a
 * teacher/student pair: each module's trainable parameters, the ports and who refines them, and the loss terms
 * of one dry step on random taps (so a bundle started or stopped shows here at once).
 */
@Component(service = ModulesCommand.class, property = {"osgi.command.scope=kd", "osgi.command.function=modules"})
public class ModulesCommand {
    private static final int DRY_HEIGHT = 64;
    private static final int DRY_WIDTH = 128;

    @Reference(target = "(engine.name=PyTorch)")
    Engine engine;

    private BundleContext context;

    @Activate
    void activate(BundleContext context) {
        this.context = context;
    }

    @Descriptor("the module set built from the registered distillers for mit-b2 -> mit-b0")
    public String modules() {
        return modules("mit-b2", "mit-b0");
    }

    @Descriptor("the module set built from the registered distillers for a teacher -> student pair")
    public String modules(@Descriptor("teacher variant") String teacher, @Descriptor("student variant") String student) {
        NetworkSpec t = describe(teacher), s = describe(student);
        StringBuilder out = new StringBuilder(String.format("modules for %s -> %s%n", teacher, student));
        try (HeldServices<Distiller> lookup = new HeldServices<>(context, Distiller.class); NDManager m = engine.newBaseManager()) {
            List<Distiller> all = new ArrayList<>(lookup.all(null));
            all.sort(Comparator.comparing(Distiller::name));
            List<ModuleRoster.Request> requests = new ArrayList<>();
            for (Distiller d : all) {
                if (d.rejection().isPresent()) out.append(String.format("  %-10s configuration rejected: %s%n", d.name(), d.rejection().get()));
                else if (d.enabled()) requests.add(new ModuleRoster.Request(d, Map.of()));
                else out.append(String.format("  %-10s disabled by configuration%n", d.name()));
            }
            if (requests.isEmpty()) return out.append("  no enabled distiller is registered\n").toString();
            try (ModuleRoster set = ModuleRoster.build(requests, t.taps(), s.taps(), m, 0)) {
                long total = 0;
                for (DistillationModule module : set.modules()) {
                    long n = ModuleRoster.trainable(module);
                    total += n;
                    out.append(String.format("  %-10s %,12d params%s%n", module.name(), n,
                            module.ports().isEmpty() ? "" : "  ports " + String.join(" ", module.ports())));
                }
                out.append(String.format("  %-10s %,12d params (training only)%n", "total", total));
                set.wiring().forEach((port, refiners) -> out.append(String.format("  %s <- %s%n", port, String.join(", ", refiners))));
                out.append(String.format("  loss terms of one dry step (random taps, 2x3x%dx%d):%n", DRY_HEIGHT, DRY_WIDTH));
                List<LossTerm> terms = set.forward(randomTaps(teacher, m), randomTaps(student, m), true, m, Probe.NONE);
                if (!terms.isEmpty()) {
                    // the modules' part of a step's loss, composed as a training step composes it (no cross-entropy here)
                    Objective.Loss loss = Objective.compose(null, terms);
                    loss.weights().forEach((name, weight) ->
                            out.append(String.format("    %-10s weight %-6s value %.6f%n", name, weight, loss.values().get(name))));
                    out.append(String.format("    %-10s%15svalue %.6f%n", Objective.TOTAL, "", loss.values().get(Objective.TOTAL)));
                }
            }
        }
        return out.toString();
    }

    private NetworkSpec describe(String variant) {
        return backbone(variant, b -> b.describe(variant, Map.of()));
    }

    private TapValues randomTaps(String variant, NDManager m) {
        ModelCost cost = backbone(variant, b -> b.cost(variant, Map.of(), DRY_HEIGHT, DRY_WIDTH));
        Map<String, NDArray> taps = new LinkedHashMap<>();
        cost.tapShapes().forEach((name, shape) -> {
            long[] batch2 = shape.clone();
            batch2[0] = 2;
            taps.put(name, m.randomNormal(new Shape(batch2)));
        });
        return new TapValues(variant, taps);
    }

    private <T> T backbone(String variant, Function<Backbone, T> use) {
        return ServiceLookup.withFirst(context, Backbone.class, ServiceLookup.equalsFilter(Backbone.VARIANTS_PROPERTY, variant), use)
                .orElseThrow(() -> new RetortConfigException("no backbone service builds '" + variant + "'"));
    }
}
