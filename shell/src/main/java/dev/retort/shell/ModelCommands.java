package dev.retort.shell;

import ai.djl.engine.Engine;
import dev.retort.api.backbone.Backbone;
import ai.djl.ndarray.NDManager;
import dev.retort.api.backbone.LoadMode;
import dev.retort.api.backbone.LoadReport;
import dev.retort.api.backbone.ModelCost;
import dev.retort.api.backbone.SegmentationNetwork;
import dev.retort.api.error.RetortConfigException;
import dev.retort.safetensors.TensorSource;
import dev.retort.weights.WeightFiles;
import dev.retort.weights.WeightsDescription;
import java.io.IOException;
import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Optional;
import org.apache.felix.service.command.Descriptor;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import java.io.UncheckedIOException;
import java.util.HashMap;
import java.util.TreeMap;

/** {@code kd:model}, {@code kd:weights} and {@code kd:convert}: what a network costs, and what a checkpoint holds. */
@Component(service = ModelCommands.class, property = {"osgi.command.scope=kd", "osgi.command.function=model",
        "osgi.command.function=weights", "osgi.command.function=convert"})
public class ModelCommands {
    @Reference(target = "(engine.name=PyTorch)")
    Engine engine;

    private BundleContext context;

    @Activate
    void activate(BundleContext context) {
        this.context = context;
    }

    @Descriptor("parameters, GFLOPs (multiply-accumulates, mmcv convention) and tap shapes per stage, at 3x512x1024 by default")
    public String model(@Descriptor("variant, e.g. mit-b0") String variant) {
        return model(variant, "512x1024");
    }

    @Descriptor("parameters, GFLOPs (multiply-accumulates, mmcv convention) and tap shapes per stage at an input size")
    public String model(@Descriptor("variant, e.g. mit-b0") String variant, @Descriptor("input size HxW, e.g. 512x1024") String size) {
        int[] hw = parseSize(size);
        ModelCost cost = Backbones.with(context, variant, b -> b.cost(variant, Map.of(), hw[0], hw[1]))
                .orElseThrow(() -> Backbones.unknown(context, variant));
        StringBuilder out = new StringBuilder();
        out.append(String.format("%s at 3x%dx%d%n", variant, hw[0], hw[1]));
        out.append(String.format("  %-10s %14s %10s %10s%n", "part", "params", "M", "GFLOPs"));
        for (ModelCost.Part p : cost.parts()) {
            out.append(String.format("  %-10s %,14d %10.3f %10.3f%n", p.name(), p.parameters(), p.parameters() / 1e6, p.macs() / 1e9));
        }
        out.append(String.format("  %-10s %,14d %10.2f %10.2f%n", "total", cost.parameters(), cost.parameters() / 1e6, cost.macs() / 1e9));
        if (cost.attentionMacs() > 0) {
            out.append(String.format("  (attention products Q·Kᵀ and attention·V, outside the convention: %.2f GFLOPs more)%n", cost.attentionMacs() / 1e9));
        }
        out.append("  taps (batch 1)\n");
        cost.tapShapes().forEach((name, shape) -> out.append(String.format("    %-12s %s%n", name, Arrays.toString(shape))));
        return out.toString();
    }

    @Descriptor("describe weights: format, top level, tensors, key prefixes, and the registered variants they fit")
    public String weights(@Descriptor("weights file or folder: .safetensors, .pth, .pth.tar, .bin, a Hugging Face model folder or *.index.json")
                          String file) throws IOException {
        Path path = Path.of(file);
        StringBuilder out = new StringBuilder(path.toString()).append('\n');
        long values = 0;
        try (TensorSource s = WeightFiles.open(path)) {
            WeightsDescription.lines(s).forEach(l -> out.append("  ").append(l).append('\n'));
            for (var t : s.tensors().values()) if (t.dtype().floating()) values += t.elements();
        }
        List<String> fits = new ArrayList<>();
        for (String variant : Backbones.known(context)) {
            // Cheap first: a file with fewer values than the variant's encoder (its "stage" parts) cannot fit it; only
            // the others are built and tried.
            Map<String, Object> config = networkConfig(variant, path);
            long encoder;
            try {
                encoder = Backbones.with(context, variant, b -> b.cost(variant, config, 64, 64).parts().stream()
                        .filter(p -> p.name().startsWith("stage")).mapToLong(ModelCost.Part::parameters).sum()).orElse(0L);
            } catch (IllegalArgumentException e) {
                continue;  // the file's classifier gives a configuration this variant does not take: it does not fit
            }
            if (values < encoder) continue;
            String fit = withNetwork(variant, path, net -> {
                for (LoadMode mode : List.of(LoadMode.STRICT, LoadMode.ENCODER_ONLY)) {
                    try {
                        LoadReport r = net.load(path, mode);
                        return variant + " (" + (mode == LoadMode.STRICT ? "whole network" : "encoder only") + ", " + r.naming() + " naming)";
                    } catch (IllegalArgumentException e) {
                        // does not fit in this mode: the load names why, kd:weights <variant> <file> shows it
                    }
                }
                return "";
            });
            if (!fit.isEmpty()) fits.add(fit);
        }
        out.append("  fits: ").append(fits.isEmpty() ? "none of the registered variants " + Backbones.known(context)
                + " (kd:weights <variant> " + file + " says why)" : String.join(", ", fits)).append('\n');
        return out.toString();
    }

    @Descriptor("check weights against a variant: naming recognised (reference or hf), tensors loaded, problems")
    public String weights(@Descriptor("variant, e.g. mit-b2") String variant,
                          @Descriptor("weights file or folder: .safetensors, .pth, .pth.tar, .bin, a Hugging Face model folder or *.index.json") String file)
            throws IOException {
        return weights(variant, file, "strict");
    }

    @Descriptor("check weights against a variant; mode 'strict' (whole network) or 'encoder' (ImageNet encoder weights)")
    public String weights(@Descriptor("variant, e.g. mit-b2") String variant,
                          @Descriptor("weights file or folder: .safetensors, .pth, .pth.tar, .bin, a Hugging Face model folder or *.index.json") String file,
                          @Descriptor("strict | encoder") String mode) throws IOException {
        LoadMode loadMode = switch (mode.toLowerCase()) {
            case "strict" -> LoadMode.STRICT;
            case "encoder" -> LoadMode.ENCODER_ONLY;
            default -> throw new RetortConfigException("mode must be 'strict' or 'encoder', got '" + mode + "'");
        };
        LoadReport r = withNetwork(variant, Path.of(file), net -> net.load(Path.of(file), loadMode));
        StringBuilder out = new StringBuilder();
        out.append(String.format("%s: %s naming, %d tensors loaded into %s (%s)%n", r.file(), r.naming(), r.loaded(), variant, mode));
        String run = runCheckpoint(Path.of(file));
        if (run != null) out.append("  ").append(run).append('\n');
        if (!r.unexpected().isEmpty()) {
            out.append("  skipped ").append(r.unexpected().size()).append(": ")
                    .append(String.join(", ", r.unexpected().subList(0, Math.min(10, r.unexpected().size()))))
                    .append(r.unexpected().size() > 10 ? ", …" : "").append('\n');
        }
        if (!r.missing().isEmpty()) out.append("  not in the file (left initialised) ").append(r.missing().size()).append('\n');
        r.warnings().forEach(w -> out.append("  WARNING ").append(w).append('\n'));
        return out.toString();
    }

    @Descriptor("convert a checkpoint between namings: reference (SegFormer/TransKD state dict) and hf (Hugging Face transformers)")
    public String convert(@Descriptor("variant, e.g. mit-b0") String variant, @Descriptor("input weights (either naming)") String in,
                          @Descriptor("output file") String out, @Descriptor("reference | hf") String naming) throws IOException {
        Path source = Path.of(in), target = Path.of(out);
        LoadReport r = withNetwork(variant, source, net -> {
            LoadReport report = net.load(source, LoadMode.STRICT);
            net.save(target, naming);
            return report;
        });
        String run = runCheckpoint(source);
        return String.format("%s (%s naming, %d tensors) -> %s (%s naming)%n", source, r.naming(), r.loaded(), target, naming)
                + (run == null ? "" : "  " + run + "\n")
                + r.warnings().stream().map(w -> "  WARNING " + w + "\n").reduce("", String::concat);
    }

    private interface NetworkUse<T> {
        T apply(SegmentationNetwork net) throws IOException;
    }

    /** Builds the variant on the CPU (classes taken from the file's classifier when it has one) and uses it. */
    private <T> T withNetwork(String variant, Path file, NetworkUse<T> use) throws IOException {
        if (!Files.exists(file)) throw new RetortConfigException(file + ": no such file or folder");
        Map<String, Object> config = networkConfig(variant, file);
        Optional<T> result = Backbones.with(context, variant, b -> {
            try (NDManager m = engine.newBaseManager(); SegmentationNetwork net = b.build(variant, config, m, 0)) {
                return use.apply(net);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        return result.orElseThrow(() -> Backbones.unknown(context, variant));
    }

    /**
     * The architecture to build for a weights file: a Retort run checkpoint of this variant brings its student's
     * architecture keys (a run file's {@code student.<key>}); the classes come from the classifier. In a run checkpoint
     * only the student's tensors count ({@code student.*}); the AdamW state ({@code optim.*}, with its 0-d step
     * counters) and the modules' tensors are not the network.
     */
    public static Map<String, Object> networkConfig(String variant, Path file) throws IOException {
        Map<String, Object> config = new HashMap<>();
        try (TensorSource f = WeightFiles.open(file)) {
            boolean run = f.tensors().keySet().stream().anyMatch(k -> stripModule(k).startsWith("student."));
            if (run && f.metadata().containsKey("retort.run") && variant.equals(f.metadata().get("retort.student.variant"))) {
                Properties description = new Properties();  // the run file the checkpoint carries: its student.<key> lines
                description.load(new StringReader(f.metadata().get("retort.run")));
                description.stringPropertyNames().stream().filter(k -> k.startsWith("student.") && !k.equals("student.weights"))
                        .forEach(k -> config.put(k.substring("student.".length()), description.getProperty(k).strip()));
            }
            for (String key : f.tensors().keySet()) {
                String k = stripModule(key);
                if (run && !k.startsWith("student.")) continue;
                long[] shape = f.info(key).shape();
                if ((k.endsWith("linear_pred.weight") || k.endsWith("decode_head.classifier.weight") || k.endsWith("head.conv_seg.weight"))
                        && shape.length > 0) {
                    config.put("num_classes", shape[0]);
                }
            }
        }
        return config;
    }

    /** What a run checkpoint holds besides the student, as a line for kd:weights and kd:convert; null for other files. */
    public static String runCheckpoint(Path file) throws IOException {
        try (TensorSource f = WeightFiles.open(file)) {
            long student = 0, optimizer = 0;
            TreeMap<String, Long> modules = new TreeMap<>();
            for (String key : f.tensors().keySet()) {
                String k = stripModule(key);
                if (k.startsWith("student.")) student++;
                else if (k.startsWith("optim.")) optimizer++;
                else modules.merge(k.startsWith("modules.") ? k.substring("modules.".length()).replaceFirst("\\..*", "") : "bare reference keys", 1L, Long::sum);
            }
            if (student == 0) return null;
            StringBuilder b = new StringBuilder(f.metadata().containsKey("retort.run") ? "run checkpoint" : "distillation checkpoint")
                    .append(": took its ").append(student).append(" student.* tensors; skipped ")
                    .append(optimizer).append(" AdamW state tensors (optim.*)");
            long moduleTensors = modules.values().stream().mapToLong(Long::longValue).sum();
            b.append(" and ").append(moduleTensors).append(" distillation-module tensors");
            if (!modules.isEmpty()) b.append(" (").append(String.join(", ", modules.entrySet().stream().map(e -> e.getKey() + " " + e.getValue()).toList())).append(')');
            if (f.metadata().containsKey("retort.student.variant")) b.append("; the run's student is ").append(f.metadata().get("retort.student.variant"));
            return b.toString();
        }
    }

    private static String stripModule(String key) {
        String k = key;
        while (k.startsWith("module.")) k = k.substring("module.".length());
        return k;
    }

    static int[] parseSize(String size) {
        String[] parts = size.toLowerCase().split("x");
        try {
            if (parts.length == 2) {
                int h = Integer.parseInt(parts[0].trim()), w = Integer.parseInt(parts[1].trim());
                if (h > 0 && w > 0) return new int[] {h, w};
            }
        } catch (NumberFormatException ignored) {
            // fall through to the message
        }
        throw new RetortConfigException("input size must be HxW with positive integers, e.g. 512x1024; got '" + size + "'");
    }
}
