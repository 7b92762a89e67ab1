package dev.retort.parity;

import ai.djl.engine.Engine;
import dev.retort.api.backbone.Backbone;
import dev.retort.api.distill.Distiller;
import dev.retort.api.error.RetortConfigException;
import dev.retort.api.parity.ParityCase;
import dev.retort.api.parity.ParityCases;
import dev.retort.api.parity.ParityComputation;
import dev.retort.osgi.HeldServices;
import dev.retort.osgi.ServiceLookup;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;
import org.apache.felix.service.command.Descriptor;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/** {@code kd:parity}: whether backbones and modules compute what the reference computes, on its golden tensors. */
@Component(service = ParityCommand.class, property = {"osgi.command.scope=kd", "osgi.command.function=parity"})
public class ParityCommand {
    @Reference(target = "(engine.name=PyTorch)")
    Engine engine;

    private BundleContext context;

    @Activate
    void activate(BundleContext context) {
        this.context = context;
    }

    @Descriptor("compare with golden tensors of the reference: <variant>.weights/.io.safetensors pairs and the module fixtures the registered"
            + " parity cases check, in a directory; fails when any tensor is out of tolerance, unchecked, or a file is missing")
    public String parity(@Descriptor("directory holding the fixture files") String directory) throws IOException {
        Path dir = Path.of(directory).toAbsolutePath();
        if (!Files.isDirectory(dir)) throw new RetortConfigException("kd:parity: " + dir + " is not a directory");
        ParityCheck check = new ParityCheck(Tolerance.FIXTURES);
        List<ParityCheck.Report> reports = new ArrayList<>();
        StringBuilder out = new StringBuilder();
        try (HeldServices<ParityCases> caseServices = new HeldServices<>(context, ParityCases.class);
             HeldServices<ParityComputation> computations = new HeldServices<>(context, ParityComputation.class);
             HeldServices<Distiller> distillers = new HeldServices<>(context, Distiller.class)) {
            List<ParityCase> cases = new ArrayList<>();
            caseServices.all(null).forEach(s -> cases.addAll(s.cases()));
            List<ParityComputation> computed = computations.all(null).stream()
                    .filter(c -> Files.isRegularFile(dir.resolve(c.fixture() + ".io.safetensors"))).toList();
            List<String> computedFixtures = computed.stream().map(ParityComputation::fixture).distinct().toList();
            List<String> variants = ParityCheck.backboneVariants(dir, cases).stream().filter(v -> !computedFixtures.contains(v)).toList();
            List<String> moduleFixtures = ParityCheck.moduleFixtures(dir, cases);
            if (variants.isEmpty() && moduleFixtures.isEmpty() && computed.isEmpty()) {
                TreeSet<String> known = new TreeSet<>();
                cases.forEach(c -> known.add(c.fixture()));
                computations.all(null).forEach(c -> known.add(c.fixture()));
                throw new RetortConfigException("kd:parity: " + dir + " holds no <variant>.io.safetensors or module fixture ("
                        + (known.isEmpty() ? "no parity case is registered" : "the registered parity cases check " + String.join(", ", known)) + ")");
            }
            for (String variant : variants) {
                ParityCheck.Report r = ServiceLookup.withFirst(context, Backbone.class, ServiceLookup.equalsFilter(Backbone.VARIANTS_PROPERTY, variant),
                        b -> backbone(check, dir, variant, Optional.of(b))).orElseGet(() -> backbone(check, dir, variant, Optional.empty()));
                reports.add(r);
                out.append(ParityCheck.format(r));
            }
            for (String fixture : moduleFixtures) {
                ParityCheck.Report r = check.modules(dir, fixture, cases,
                        name -> distillers.first(ServiceLookup.equalsFilter(Distiller.NAME_PROPERTY, name)), engine);
                reports.add(r);
                out.append(ParityCheck.format(r));
            }
            for (String fixture : computedFixtures) {
                ParityCheck.Report r = check.computed(dir, fixture, computed.stream().filter(c -> c.fixture().equals(fixture)).toList(), engine);
                reports.add(r);
                out.append(ParityCheck.format(r));
            }
        }
        long failed = reports.stream().filter(r -> !r.passed()).count();
        out.append(failed == 0 ? "PASS" : "FAIL").append(": ").append(reports.size() - failed).append('/').append(reports.size())
                .append(" fixture sets in ").append(dir).append('\n');
        if (failed > 0) {
            System.out.print(out);  // the session's output: the table is shown even though the command fails
            throw new IllegalStateException("parity FAILED for " + failed + " of " + reports.size() + " fixture sets");
        }
        return out.toString();
    }

    private ParityCheck.Report backbone(ParityCheck check, Path dir, String variant, Optional<Backbone> backbone) {
        try {
            return check.backbone(dir, variant, backbone, engine);
        } catch (IOException e) {
            return new ParityCheck.Report(variant, List.of(), List.of(e.getMessage()));
        }
    }
}
