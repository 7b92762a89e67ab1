package dev.retort.runner.parity;

import ai.djl.engine.Engine;
import dev.retort.api.backbone.Backbone;
import dev.retort.api.distill.Distiller;
import dev.retort.osgi.HeldServices;
import dev.retort.osgi.ServiceLookup;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
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

    @Descriptor("compare with golden tensors of the reference: <variant>.weights/.io.safetensors pairs in a directory; fails when any tensor is out of tolerance or a file is missing")
    public String parity(@Descriptor("directory holding the fixture files") String directory) throws IOException {
        Path dir = Path.of(directory).toAbsolutePath();
        if (!Files.isDirectory(dir)) throw new IllegalArgumentException("kd:parity: " + dir + " is not a directory");
        List<String> variants = ParityCheck.backboneVariants(dir);
        boolean modules = ParityCheck.hasModuleFixtures(dir);
        if (variants.isEmpty() && !modules) {
            throw new IllegalArgumentException("kd:parity: " + dir + " holds no <variant>.io.safetensors or transkd-modules.* fixture");
        }
        ParityCheck check = new ParityCheck(Tolerance.FIXTURES);
        List<ParityCheck.Report> reports = new ArrayList<>();
        StringBuilder out = new StringBuilder();
        for (String variant : variants) {
            ParityCheck.Report r = ServiceLookup.withFirst(context, Backbone.class, ServiceLookup.equalsFilter(Backbone.VARIANTS_PROPERTY, variant),
                    b -> run(check, dir, variant, Optional.of(b))).orElseGet(() -> run(check, dir, variant, Optional.empty()));
            reports.add(r);
            out.append(ParityCheck.format(r));
        }
        if (modules) {
            try (HeldServices<Distiller> held = new HeldServices<>(context, Distiller.class)) {
                ParityCheck.Report r = check.modules(dir, name -> held.first(ServiceLookup.equalsFilter(Distiller.NAME_PROPERTY, name)), engine);
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

    private ParityCheck.Report run(ParityCheck check, Path dir, String variant, Optional<Backbone> backbone) {
        try {
            return check.backbone(dir, variant, backbone, engine);
        } catch (IOException e) {
            return new ParityCheck.Report(variant, List.of(), List.of(e.getMessage()));
        }
    }
}
