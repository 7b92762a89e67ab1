package dev.retort.study;

import ai.djl.engine.Engine;
import dev.retort.api.run.Runner;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import dev.retort.api.distill.Distiller;
import dev.retort.osgi.ServiceLookup;
import org.apache.felix.service.command.Descriptor;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/** {@code kd:doctor}: checks this machine's natives, devices and training in one command (see {@link Doctor}). */
@Component(service = DoctorCommand.class, property = {"osgi.command.scope=kd", "osgi.command.function=doctor"})
public class DoctorCommand {
    @Reference
    Runner runner;

    @Reference(target = "(engine.name=PyTorch)")
    Engine engine;

    /** The engine service's properties: the natives in use as the launcher found them. */
    private Map<String, Object> natives = Map.of();

    @Reference(target = "(engine.name=PyTorch)", service = Engine.class)
    void natives(Map<String, Object> properties) {
        natives = Map.copyOf(properties);
    }

    private BundleContext context;

    @Activate
    void activate(BundleContext context) {
        this.context = context;
    }

    @Descriptor("check this machine: natives (flavor, folder, version, CUDA, cuDNN), devices, CPU bfloat16 instructions and the precision to"
            + " use; each GPU's tiny run against the CPU's; on every device 20 steps of a tiny run twice (finite, repeatable, step time,"
            + " peak memory). Fails (exit 1) unless every check passed, naming what to do")
    public String doctor() throws IOException, InterruptedException {
        Path work = Files.createTempDirectory("retort-doctor");
        try {
            // MasKD prepares 2000 steps by default before it distils: 2 are enough to check that it runs
            boolean maskd = !ServiceLookup.references(context, Distiller.class, ServiceLookup.equalsFilter(Distiller.NAME_PROPERTY, "maskd")).isEmpty();
            Doctor d = new Doctor(runner, engine, natives, maskd ? Map.of("module.maskd.prepare_steps", 2) : Map.of(), System.out);
            String report = d.run(work);
            if (!d.passed()) {
                System.out.print(report);  // the session's output: the report is shown even though the command fails
                throw new IllegalStateException("doctor: " + d.checks().stream().filter(c -> !c.passed()).count() + " check(s) failed");
            }
            return report;
        } finally {
            Doctor.delete(work);
        }
    }
}
