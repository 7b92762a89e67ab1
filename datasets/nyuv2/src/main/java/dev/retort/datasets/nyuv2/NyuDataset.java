package dev.retort.datasets.nyuv2;

import dev.retort.api.data.SegmentationDataset;
import dev.retort.datasets.FileDataset;
import dev.retort.datasets.Protocols;
import dev.retort.nn.Settings;
import java.awt.Color;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.osgi.service.component.annotations.Component;

/**
 * NYUv2 with the 40-class labels, in the layout the reference's loader reads: {@code images/<id>.png} (or .jpg),
 * {@code labels40/<id>.png} (8-bit, 0 = unlabelled, 1..40 = classes) and split lists {@code <split>.txt} of ids.
 * Labels are shifted by −1 (0 becomes ignore). From the official {@code nyu_depth_v2_labeled.mat}: write each
 * {@code images} entry as PNG and each 40-class label (the common mapping of {@code labels} to 40 classes) as an 8-bit
 * PNG, and the official train/test split indices as {@code train.txt} / {@code test.txt}. README.md has the steps.
 */
@Component(service = SegmentationDataset.class, property = SegmentationDataset.NAME_PROPERTY + "=nyuv2")
public class NyuDataset extends FileDataset {
    static final List<String> NAMES = List.of("wall", "floor", "cabinet", "bed", "chair", "sofa", "table", "door", "window",
            "bookshelf", "picture", "counter", "blinds", "desk", "shelves", "curtain", "dresser", "pillow", "mirror", "floor mat",
            "clothes", "ceiling", "books", "refrigerator", "television", "paper", "towel", "shower curtain", "box", "whiteboard",
            "person", "night stand", "toilet", "sink", "lamp", "bathtub", "bag", "otherstructure", "otherfurniture", "otherprop");

    @Override
    public String name() {
        return "nyuv2";
    }

    @Override
    protected List<String> classes() {
        return NAMES;
    }

    /** A fixed, well-spread palette (NYUv2 has no official one). */
    @Override
    protected int[] palette() {
        int[] p = new int[NAMES.size()];
        for (int i = 0; i < p.length; i++) {
            float hue = (i * 0.618034f) % 1f;
            p[i] = Color.HSBtoRGB(hue, 0.65f + 0.35f * ((i % 3) / 2f), 0.95f - 0.3f * ((i % 2))) & 0xffffff;
        }
        return p;
    }

    @Override
    protected float[] transkdWeights() {
        return Protocols.uniformWithIgnore(NAMES.size());
    }

    @Override
    protected List<Pair> scan(Path root, String split, Settings options) throws IOException {
        List<Pair> pairs = new ArrayList<>();
        for (String id : listFile(root.resolve(split + ".txt"))) {
            Path image = root.resolve("images").resolve(id + ".png");
            if (!Files.exists(image)) image = root.resolve("images").resolve(id + ".jpg");
            Path label = root.resolve("labels40").resolve(id + ".png");
            String problem = !Files.exists(image) ? root.resolve("images").resolve(id + ".png") + ": listed in " + split + ".txt but missing"
                    : !Files.exists(label) ? image + ": no label " + label : null;
            pairs.add(new Pair(id, image, label, problem));
        }
        return pairs;
    }

    @Override
    protected int mapLabel(Pair pair, int raw) {
        if (raw == 0 || raw == Protocols.IGNORE) return Protocols.IGNORE;
        return raw <= NAMES.size() ? raw - 1 : -1;
    }
}
