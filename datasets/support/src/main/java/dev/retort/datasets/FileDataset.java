package dev.retort.datasets;

import dev.retort.api.data.DatasetInfo;
import dev.retort.api.data.DatasetRequest;
import dev.retort.api.data.SampleSource;
import dev.retort.api.data.SegmentationDataset;
import dev.retort.api.error.RetortConfigException;
import dev.retort.nn.Settings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** A dataset of image/label files in a published layout; subclasses find the pairs and map label values. */
public abstract class FileDataset implements SegmentationDataset {
    /**
     * One sample on disk.
     *
     * @param problem why the sample cannot be used (a missing label or image), found by the scan; {@code null} when none
     */
    public record Pair(String id, Path image, Path label, String problem) {
        public Pair(String id, Path image, Path label) {
            this(id, image, label, null);
        }
    }

    /** Class names, index = class id. */
    protected abstract List<String> classes();

    /** RGB colour per class, 0xRRGGBB. */
    protected abstract int[] palette();

    /** Loss weights of the TransKD protocol: one per class plus 0 for the ignore channel. */
    protected abstract float[] transkdWeights();

    /**
     * The pairs of a split; a missing folder or list is an {@link IOException} naming it. A sample without its label
     * (or a listed image that is missing) is a pair with a {@link Pair#problem() problem}: the error policy decides.
     */
    protected abstract List<Pair> scan(Path root, String split, Settings options) throws IOException;

    /**
     * Class id of a raw label value of {@code pair}'s label file, {@link Protocols#IGNORE} for ignored pixels, or −1
     * when the value is invalid.
     */
    protected abstract int mapLabel(Pair pair, int raw);

    @Override
    public DatasetInfo info() {
        return info(Protocols.TRANSKD);
    }

    DatasetInfo info(String protocol) {
        return Protocols.info(name(), classes(), palette(), transkdWeights(), protocol);
    }

    @Override
    public List<String> protocols() {
        return Protocols.ALL;
    }

    @Override
    public SampleSource open(DatasetRequest request) throws IOException {
        Protocols.check(request.protocol());
        Settings options = new Settings(name(), request.options());
        if (request.root() == null) throw new RetortConfigException(name() + " needs a root folder");
        if (!Files.isDirectory(request.root())) throw new IOException(name() + ": root " + request.root() + " is not a folder");
        List<Pair> pairs = scan(request.root(), request.split(), options);
        if (pairs.isEmpty()) throw new IOException(name() + ": split '" + request.split() + "' under " + request.root() + " holds no samples");
        String policy = String.valueOf(options.raw("on_error") == null ? "fail" : options.raw("on_error"));
        if (!policy.equals("fail") && !policy.equals("skip")) throw options.invalid("on_error must be 'fail' or 'skip', got '" + policy + "'");
        List<Pair> usable = pairs.stream().filter(p -> p.problem() == null).toList();
        List<String> problems = pairs.stream().map(Pair::problem).filter(p -> p != null).toList();
        if (!problems.isEmpty()) {
            if (!policy.equals("skip")) {
                throw new IOException(problems.get(0) + (problems.size() > 1 ? " (and " + (problems.size() - 1) + " more such samples)" : "")
                        + "; data.on_error = skip leaves such samples out");
            }
            problems.forEach(p -> System.err.println(name() + ": skipping " + p));
            if (usable.isEmpty()) throw new IOException(name() + ": split '" + request.split() + "' under " + request.root() + ": every sample was skipped; first: " + problems.get(0));
        }
        boolean augment = options.bool("augment", request.split().startsWith("train"));
        return new FileSampleSource(this, usable, request.protocol(), augment, policy.equals("skip"), options, problems.size());
    }

    /** Files of a folder tree ending with {@code suffix}, sorted (the reference pairs images and labels by sorted lists). */
    protected static List<Path> filesEndingWith(Path dir, String suffix) throws IOException {
        if (!Files.isDirectory(dir)) throw new IOException("missing folder " + dir);
        try (var walk = Files.walk(dir)) {
            return walk.filter(p -> p.getFileName().toString().endsWith(suffix)).sorted().toList();
        }
    }

    /** The lines of a split list, blank lines and comments dropped. */
    protected static List<String> listFile(Path file) throws IOException {
        if (!Files.isRegularFile(file)) throw new IOException("missing split list " + file);
        return Files.readAllLines(file).stream().map(String::strip).filter(l -> !l.isEmpty() && !l.startsWith("#")).toList();
    }
}
