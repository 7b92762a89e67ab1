package dev.retort.shell;

import ai.djl.Device;
import ai.djl.engine.Engine;
import dev.retort.api.backbone.Backbone;
import dev.retort.api.data.SegmentationDataset;
import dev.retort.api.distill.Distiller;
import dev.retort.nn.NativeHeap;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.apache.felix.service.command.Descriptor;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/** {@code kd:info}: what this Retort runtime is made of, read live from the service registry. */
@Component(service = InfoCommand.class, property = {"osgi.command.scope=kd", "osgi.command.function=info"})
public class InfoCommand {
    @Reference(target = "(engine.name=PyTorch)")
    Engine engine;

    /** The engine service's properties: the natives in use (flavor, folder, CUDA, cuDNN) as the launcher found them. */
    private Map<String, Object> engineProperties = Map.of();

    @Reference(target = "(engine.name=PyTorch)", service = Engine.class)
    void engineProperties(Map<String, Object> properties) {
        engineProperties = Map.copyOf(properties);
    }

    private BundleContext context;

    @Activate
    void activate(BundleContext context) {
        this.context = context;
    }

    @Descriptor("framework, Java and engine versions, devices, and every registered backbone, distiller and dataset")
    public String info() throws InvalidSyntaxException {
        StringBuilder out = new StringBuilder();
        Bundle system = context.getBundle(Constants.SYSTEM_BUNDLE_LOCATION);
        out.append("Retort runtime\n");
        line(out, "framework", system.getSymbolicName() + " " + system.getVersion());
        line(out, "java", System.getProperty("java.version") + " (" + System.getProperty("java.vendor") + ", "
                + System.getProperty("os.name") + " " + System.getProperty("os.arch") + ")");
        line(out, "engine", engine.getEngineName() + " " + engine.getVersion() + " (DJL "
                + Engine.getDjlVersion() + ")");
        line(out, "devices", devices());
        line(out, "natives", "flavor " + property("engine.flavor") + ", libtorch " + property("engine.library"));
        line(out, "cuda", property("engine.cuda") + "; cuDNN " + property("engine.cudnn"));
        line(out, "allocator", property("engine.allocator"));
        line(out, "", NativeHeap.describe());
        line(out, "djl cache", String.valueOf(System.getProperty("DJL_CACHE_DIR", System.getenv("DJL_CACHE_DIR"))));

        section(out, "backbones", Backbone.class, b -> b.name() + "  " + String.join(", ", b.variants()));
        section(out, "distillers", Distiller.class, d -> d.name() + "  " + d.description() + Distillers.state(d));
        section(out, "datasets", SegmentationDataset.class, d -> d.name() + "  protocols " + String.join(", ", d.protocols()));
        return out.toString();
    }

    private String property(String key) {
        Object v = engineProperties.get(key);
        return v == null ? "unknown (the engine service does not say)" : v.toString();
    }

    private String devices() {
        List<String> names = new ArrayList<>();
        names.add(Device.cpu().toString());
        for (int i = 0; i < engine.getGpuCount(); i++) names.add(Device.gpu(i).toString());
        return String.join(", ", names);
    }

    private <S> void section(StringBuilder out, String title, Class<S> type, Function<S, String> describe)
            throws InvalidSyntaxException {
        Collection<ServiceReference<S>> refs = context.getServiceReferences(type, null);
        out.append(title).append(" (").append(refs.size()).append(")\n");
        List<String> rows = new ArrayList<>();
        for (ServiceReference<S> ref : refs) {
            S service = context.getService(ref);
            if (service == null) continue;  // unregistered while we looked
            try {
                Bundle b = ref.getBundle();
                String provider = b == null ? "?" : b.getSymbolicName() + " " + b.getVersion() + " [" + b.getBundleId() + "]";
                rows.add("  " + describe.apply(service) + "  <- " + provider);
            } finally {
                context.ungetService(ref);
            }
        }
        rows.sort(Comparator.naturalOrder());
        rows.forEach(r -> out.append(r).append('\n'));
    }

    private static void line(StringBuilder out, String key, String value) {
        out.append(String.format("  %-10s %s%n", key, value));
    }
}
