package dev.retort.shell;

import dev.retort.api.data.DatasetInfo;
import dev.retort.api.data.DatasetRequest;
import dev.retort.api.data.Sample;
import dev.retort.api.data.SampleSource;
import dev.retort.api.data.SegmentationDataset;
import dev.retort.api.error.RetortConfigException;
import dev.retort.datasets.Batch;
import dev.retort.datasets.BatchLoader;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.felix.service.command.Descriptor;
import org.apache.felix.service.command.Parameter;
import org.osgi.framework.BundleContext;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;

/** {@code kd:dataset}: validates a dataset through its service and reports what it holds. */
@Component(service = DataCommands.class, property = {"osgi.command.scope=kd", "osgi.command.function=dataset"})
public class DataCommands {
    private BundleContext context;

    @Activate
    void activate(BundleContext context) {
        this.context = context;
    }

    /** Batches put together under the protocol before a dataset is called OK. */
    static final int CHECK_BATCHES = 2;
    static final int CHECK_BATCH_SIZE = 2;

    @Descriptor("validate a dataset: samples, sizes, label values per class, problems, and that a few batches can be put together under"
            + " the protocol; fails when it cannot be used")
    public String dataset(
            @Descriptor("samples to check, 0 = all (default: all on disk, 100 for generated data)") @Parameter(names = "--limit", absentValue = "-1") int limit,
            @Descriptor("split (default train; may also be given after the root)") @Parameter(names = "--split", absentValue = "") String splitOption,
            @Descriptor("protocol: transkd or standard") @Parameter(names = "--protocol", absentValue = "transkd") String protocol,
            @Descriptor("dataset name, e.g. cityscapes or synthetic, then its root folder (- for none, as synthetic), then the split") String... args)
            throws IOException, InvalidSyntaxException {
        if (args.length == 0 || args.length > 3) throw new RetortConfigException("usage: kd:dataset [--limit N] [--protocol P] <name> [root|-] [split]");
        String name = args[0];
        Path root = args.length > 1 && !args[1].equals("-") ? Path.of(args[1]).toAbsolutePath() : null;
        if (args.length > 2 && !splitOption.isEmpty() && !splitOption.equals(args[2])) {
            throw new RetortConfigException("two splits given: --split " + splitOption + " and " + args[2]);
        }
        String split = args.length > 2 ? args[2] : splitOption.isEmpty() ? "train" : splitOption;
        Map<String, Object> options = Map.of("augment", false);
        ServiceReference<SegmentationDataset> ref = find(name);
        SegmentationDataset dataset = context.getService(ref);
        try (SampleSource source = dataset.open(new DatasetRequest(root, split, protocol, options))) {
            int n = limit < 0 ? (root == null ? Math.min(100, source.size()) : source.size()) : limit == 0 ? source.size() : Math.min(limit, source.size());
            DatasetInfo info = source.info();
            Map<String, Integer> sizes = new TreeMap<>();
            long[] pixels = new long[Math.max(info.outputs(), info.classes().size()) + 1];
            long ignored = 0;
            List<String> problems = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                try {
                    Sample s = source.get(i, 0);
                    sizes.merge(s.height() + "x" + s.width() + " (label " + s.labelHeight() + "x" + s.labelWidth() + ")", 1, Integer::sum);
                    for (int v : s.label()) {
                        if (v == info.ignoreClass()) ignored++;
                        else if (v >= 0 && v < pixels.length) pixels[v]++;
                    }
                } catch (IOException | RuntimeException e) {
                    problems.add(e.getMessage());
                }
            }
            StringBuilder out = new StringBuilder();
            out.append(String.format("%s %s (%s protocol)%s%n", name, split, protocol, root == null ? "" : " at " + root));
            out.append(String.format("  samples    %d (%d checked)%n", source.size(), n));
            sizes.forEach((size, count) -> out.append(String.format("  size       %s x %d%n", size, count)));
            long total = ignored;
            for (long p : pixels) total += p;
            out.append("  label values (class: pixels, share)\n");
            for (int c = 0; c < info.classes().size(); c++) {
                out.append(String.format("    %2d %-16s %12d %6.2f%%%n", c, info.classes().get(c), pixels[c], total == 0 ? 0 : 100.0 * pixels[c] / total));
            }
            out.append(String.format("    %2d %-16s %12d %6.2f%%%n", info.ignoreClass(), "(ignore)", ignored, total == 0 ? 0 : 100.0 * ignored / total));
            problems.stream().limit(20).forEach(p -> out.append("  PROBLEM ").append(p).append('\n'));
            if (problems.size() > 20) out.append("  … and ").append(problems.size() - 20).append(" more problems\n");
            if (!problems.isEmpty()) {
                System.out.print(out);
                throw new IllegalStateException(name + ": " + problems.size() + " of " + n + " samples cannot be used");
            }
            String batching = batching(dataset, root, split, protocol);
            out.append("  batching   ").append(batching).append('\n');
            if (!batching.startsWith("OK")) {
                System.out.print(out);
                throw new IllegalStateException(name + " " + split + ": samples load one by one but cannot be batched under the " + protocol + " protocol");
            }
            return out.append("  OK\n").toString();
        } finally {
            context.ungetService(ref);
        }
    }

    /**
     * Puts a few batches together as a run does (shuffled unless the source's order is fixed, augmented on the training split) so that "OK" also
     * means that samples of the split have one size under the protocol.
     */
    private static String batching(SegmentationDataset dataset, Path root, String split, String protocol) throws IOException {
        Map<String, Object> options = Map.of("augment", split.startsWith("train"));
        try (SampleSource source = dataset.open(new DatasetRequest(root, split, protocol, options));
             BatchLoader loader = new BatchLoader(source, Math.min(CHECK_BATCH_SIZE, Math.max(1, source.size())), false, 1, 1);
             BatchLoader.Epoch epoch = loader.epoch(1, 1, !source.fixedOrder(), 0)) {  // a run reads a fixed-order source in order
            int done = 0;
            String shape = "";
            while (done < CHECK_BATCHES && epoch.hasNext()) {
                Batch b = epoch.next();
                shape = b.size() + "x3x" + b.height() + "x" + b.width() + " (labels " + b.labelHeight() + "x" + b.labelWidth() + ")";
                done++;
            }
            return "OK: " + done + " batch" + (done == 1 ? "" : "es") + " of " + shape + " as in training";
        } catch (IOException | RuntimeException e) {
            return "FAILED: " + e.getMessage();
        }
    }

    private ServiceReference<SegmentationDataset> find(String name) throws InvalidSyntaxException {
        var refs = context.getServiceReferences(SegmentationDataset.class, "(" + SegmentationDataset.NAME_PROPERTY + "=" + name + ")");
        if (refs.isEmpty()) {
            List<String> known = new ArrayList<>();
            for (var r : context.getServiceReferences(SegmentationDataset.class, null)) known.add(String.valueOf(r.getProperty(SegmentationDataset.NAME_PROPERTY)));
            throw new RetortConfigException("no dataset service '" + name + "' (registered: " + known + ")");
        }
        return refs.iterator().next();
    }
}
