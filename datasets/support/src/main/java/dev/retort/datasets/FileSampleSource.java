package dev.retort.datasets;

import dev.retort.api.data.DatasetInfo;
import dev.retort.api.data.Sample;
import dev.retort.api.data.SampleSource;
import dev.retort.nn.Settings;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/** Samples decoded from files on demand; thread-safe (no shared mutable state but the skip counter). */
final class FileSampleSource implements SampleSource {
    private final FileDataset dataset;
    private final List<FileDataset.Pair> pairs;
    private final String protocol;
    private final boolean augment;
    private final boolean skipBad;
    private final Settings options;
    private final DatasetInfo info;
    private final AtomicLong skipped = new AtomicLong();

    /** @param skippedAtOpen samples the scan already left out under the skip policy (e.g. images without a label) */
    FileSampleSource(FileDataset dataset, List<FileDataset.Pair> pairs, String protocol, boolean augment, boolean skipBad, Settings options,
                     long skippedAtOpen) {
        this.dataset = dataset;
        this.pairs = List.copyOf(pairs);
        this.protocol = protocol;
        this.augment = augment;
        this.skipBad = skipBad;
        this.options = options;
        this.info = dataset.info(protocol);
        this.skipped.set(skippedAtOpen);
    }

    @Override
    public int size() {
        return pairs.size();
    }

    @Override
    public DatasetInfo info() {
        return info;
    }

    @Override
    public long skipped() {
        return skipped.get();
    }

    @Override
    public Sample get(int index, long seed) throws IOException {
        IOException first = null;
        for (int attempt = 0; attempt < pairs.size(); attempt++) {
            int i = (index + attempt) % pairs.size();
            try {
                return load(i, seed);
            } catch (IOException e) {
                if (!skipBad) throw e;
                if (first == null) first = e;
                skipped.incrementAndGet();
                System.err.println(dataset.name() + ": skipping " + e.getMessage());
            }
        }
        throw new IOException(dataset.name() + ": every sample failed to load; first: " + first.getMessage(), first);
    }

    /** Decodes, checks and maps one pair, then applies the protocol. */
    Sample load(int index, long seed) throws IOException {
        FileDataset.Pair p = pairs.get(index);
        RgbImage image = ImageFiles.readRgb(p.image());
        LabelImage label = ImageFiles.readLabel(p.label());
        if (image.width() != label.width() || image.height() != label.height()) {
            throw new IOException(p.label() + ": label is " + label.width() + "x" + label.height() + " but image " + p.image() + " is "
                    + image.width() + "x" + image.height());
        }
        int[] ids = label.values().clone();
        int classes = dataset.classes().size();
        for (int i = 0; i < ids.length; i++) {
            int mapped = dataset.mapLabel(p, ids[i]);
            if (mapped < 0 || (mapped >= classes && mapped != Protocols.IGNORE)) {
                throw new IOException(p.label() + ": label value " + ids[i] + " at (" + (i % label.width()) + ", " + (i / label.width())
                        + ") is outside the " + classes + " classes of " + dataset.name());
            }
            ids[i] = mapped;
        }
        return Protocols.apply(protocol, p.id(), image, ids, classes, augment, seed, index, options);
    }

    @Override
    public void close() {}
}
