package dev.retort.parity;

import ai.djl.engine.Engine;
import dev.retort.api.backbone.Backbone;
import dev.retort.api.distill.Distiller;
import dev.retort.api.error.RetortConfigException;
import dev.retort.api.parity.ParityCase;
import dev.retort.api.parity.ParityCases;
import dev.retort.api.parity.ParityComputation;
import dev.retort.api.run.Runner;
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

    @Descriptor("compare with golden tensors of the reference: <variant>.weights/.io.safetensors pairs, the module fixtures the registered"
            + " parity cases check and a training trajectory (replayed through the runner), in a directory or in each directory under it;"
            + " fails when any tensor is out of tolerance, unchecked, or a file is missing")
    public String parity(@Descriptor("directory holding the fixture files, or a directory of such directories (e.g. ../shared/fixtures)") String directory)
            throws IOException {
        Path dir = Path.of(directory).toAbsolutePath();
        if (!Files.isDirectory(dir)) throw new RetortConfigException("kd:parity: " + dir + " is not a directory");
        ParityCheck check = new ParityCheck(Tolerance.FIXTURES);
        List<ParityCheck.Report> reports = new ArrayList<>();
        StringBuilder out = new StringBuilder();
        try (HeldServices<ParityCases> caseServices = new HeldServices<>(context, ParityCases.class);
             HeldServices<ParityComputation> computations = new HeldServices<>(context, ParityComputation.class);
             HeldServices<Distiller> distillers = new HeldServices<>(context, Distiller.class);
             HeldServices<Runner> runners = new HeldServices<>(context, Runner.class)) {
            Services services = new Services(caseServices, computations, distillers, runners);
            if (!checkFolder(dir, false, check, services, reports, out)) {
                List<Path> children;
                try (var list = Files.list(dir)) {
                    children = list.filter(Files::isDirectory).sorted().toList();
                }
                List<String> unknown = new ArrayList<>();
                for (Path child : children) {
                    if (!checkFolder(child, true, check, services, reports, out)) unknown.add(child.getFileName().toString());
                }
                if (reports.isEmpty()) {
                    TreeSet<String> known = new TreeSet<>();
                    services.cases().forEach(c -> known.add(c.fixture()));
                    computations.all(null).forEach(c -> known.add(c.fixture()));
                    throw new RetortConfigException("kd:parity: " + dir + " holds no <variant>.io.safetensors, module fixture, trajectory or fixture a parity computation reads, nor a folder"
                            + " that does (" + (known.isEmpty() ? "no parity case is registered" : "the registered parity cases check " + String.join(", ", known)) + ")");
                }
                if (!unknown.isEmpty()) out.append("not checked (no fixture kd:parity knows): ").append(String.join(", ", unknown)).append('\n');
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

    /** The services a check uses, held for one command. */
    private record Services(HeldServices<ParityCases> caseServices, HeldServices<ParityComputation> computations, HeldServices<Distiller> distillers,
                            HeldServices<Runner> runners) {
        List<ParityCase> cases() {
            List<ParityCase> cases = new ArrayList<>();
            caseServices.all(null).forEach(s -> cases.addAll(s.cases()));
            return cases;
        }
    }

    /** Checks every fixture set of {@code dir}; false when it holds none. */
    private boolean checkFolder(Path dir, boolean header, ParityCheck check, Services services, List<ParityCheck.Report> reports, StringBuilder out) throws IOException {
        List<ParityCase> cases = services.cases();
        List<ParityComputation> computed = services.computations().all(null).stream()
                .filter(c -> Files.isRegularFile(dir.resolve(c.fixture() + (c.singleFile() ? ".safetensors" : ".io.safetensors")))).toList();
        List<String> computedFixtures = computed.stream().map(ParityComputation::fixture).distinct().toList();
        List<String> variants = ParityCheck.backboneVariants(dir, cases).stream().filter(v -> !computedFixtures.contains(v)).toList();
        List<String> moduleFixtures = ParityCheck.moduleFixtures(dir, cases);
        boolean trajectory = TrajectoryParity.isTrajectory(dir);
        if (variants.isEmpty() && moduleFixtures.isEmpty() && computed.isEmpty() && !trajectory) return false;
        if (header) out.append("== ").append(dir).append('\n');
        for (String variant : variants) {
            ParityCheck.Report r = ServiceLookup.withFirst(context, Backbone.class, ServiceLookup.equalsFilter(Backbone.VARIANTS_PROPERTY, variant),
                    b -> backbone(check, dir, variant, Optional.of(b))).orElseGet(() -> backbone(check, dir, variant, Optional.empty()));
            reports.add(r);
            out.append(ParityCheck.format(r));
        }
        for (String fixture : moduleFixtures) {
            ParityCheck.Report r = check.modules(dir, fixture, cases,
                    name -> services.distillers().first(ServiceLookup.equalsFilter(Distiller.NAME_PROPERTY, name)), engine);
            reports.add(r);
            out.append(ParityCheck.format(r));
        }
        for (String fixture : computedFixtures) {
            ParityCheck.Report r = check.computed(dir, fixture, computed.stream().filter(c -> c.fixture().equals(fixture)).toList(), engine);
            reports.add(r);
            out.append(ParityCheck.format(r));
        }
        if (trajectory) {
            Optional<Runner> runner = services.runners().first(null);
            ParityCheck.Report r = runner.isPresent() ? TrajectoryParity.run(dir, runner.get(), null)
                    : new ParityCheck.Report("trajectory " + dir.getFileName(), List.of(), List.of("no Runner service: the replay runs through the runner bundle; is it started?"));
            reports.add(r);
            out.append(ParityCheck.format(r));
        }
        return true;
    }

    private ParityCheck.Report backbone(ParityCheck check, Path dir, String variant, Optional<Backbone> backbone) {
        try {
            return check.backbone(dir, variant, backbone, engine);
        } catch (IOException e) {
            return new ParityCheck.Report(variant, List.of(), List.of(e.getMessage()));
        }
    }
}
